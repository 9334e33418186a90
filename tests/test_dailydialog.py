import pytest

from happybot_env.data import SYSTEM, USER, CorpusFormatError, read_dailydialog


def test_reads_dialogues_with_emotions_and_acts(fixtures):
    corpus = read_dailydialog(fixtures / "dailydialog" / "train", "train")
    assert len(corpus.dialogues) == 3
    party = corpus.dialogues[0]
    assert [t.role for t in party.turns] == [USER, SYSTEM, USER, SYSTEM]
    assert party.turns[0].text == "Hi , are you coming to the party tonight ?"
    assert [t.emotion for t in party.turns] == ["no_emotion", "no_emotion", "happiness", "happiness"]
    assert [t.act for t in party.turns] == ["question", "inform", "directive", "commissive"]


def _split(write, text, emotion, act):
    write("train/dialogues_train.txt", text)
    write("train/dialogues_emotion_train.txt", emotion)
    write("train/dialogues_act_train.txt", act)


@pytest.mark.parametrize(
    "text, emotion, act",
    [
        ("Hello . __eou__\nBye . __eou__\n", "0 4\n0\n", "2 1\n2\n"),  # a label without its utterance
        ("Hello . __eou__ Hi . __eou__\nBye . __eou__\n", "0\n0\n", "2\n2\n"),  # an utterance without its label
    ],
    ids=["more labels", "fewer labels"],
)
def test_a_dialogue_whose_labels_do_not_match_its_utterances_is_skipped_and_reported(write, tmp_path, text, emotion, act):
    """Roles alternate by position: past an utterance without its label, who speaks is unknown."""
    _split(write, text, emotion, act)
    corpus = read_dailydialog(tmp_path / "train", "train")
    assert [[t.text for t in d.turns] for d in corpus.dialogues] == [["Bye ."]]
    assert corpus.skipped.as_dict() == {
        "labels and utterances differ in number: the speakers cannot be told": {
            "count": 1, "first": [f"{tmp_path / 'train' / 'dialogues_train.txt'}:1"],
        }
    }


@pytest.mark.parametrize(
    "text, emotion, act, bad_file, message",
    [
        ("Hi . __eou__\n", "9\n", "1\n", "dialogues_emotion_train.txt, line 1", "expected label ids among"),
        ("Hi . __eou__\n", "0\n", "x\n", "dialogues_act_train.txt, line 1", "expected label ids among"),
        ("Hi . __eou__\n", "\u00b2\n", "1\n", "dialogues_emotion_train.txt, line 1", "expected label ids among"),  # a digit to isdigit, not to int
        ("Hi . __eou__\nBye . __eou__\n", "0\n0\n", "1\n", "dialogues_act_train.txt", "has 1 label lines for 2 dialogues"),
        ("Hi . __eou__  __eou__ Yo . __eou__\n", "0 0 0\n", "1 1 1\n", "dialogues_train.txt, line 1", "empty utterance"),
        ("Hi . __eou__ Yo . __eou__\n", "0 0\n", "1\n", "dialogues_train.txt, line 1", "1 acts but 2 emotions"),
    ],
)
def test_malformed_files_name_file_and_line(write, tmp_path, text, emotion, act, bad_file, message):
    _split(write, text, emotion, act)
    with pytest.raises(CorpusFormatError, match=message) as error:
        read_dailydialog(tmp_path / "train", "train")
    assert str(error.value).startswith(str(tmp_path / "train" / bad_file))


def test_missing_label_file_names_the_path(write, tmp_path):
    write("train/dialogues_train.txt", "Hi . __eou__\n")
    with pytest.raises(CorpusFormatError, match="dialogues_emotion_train.txt: file not found"):
        read_dailydialog(tmp_path / "train", "train")


def test_undecodable_byte(write, tmp_path):
    _split(write, b"Hi . __eou__\nna\xefve . __eou__\n", "0\n0\n", "1\n1\n")
    with pytest.raises(CorpusFormatError, match=r"dialogues_train.txt, line 2: byte 0xef"):
        read_dailydialog(tmp_path / "train", "train")
