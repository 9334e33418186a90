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


def test_extra_utterance_is_kept_unlabelled_and_reported(fixtures):
    corpus = read_dailydialog(fixtures / "dailydialog" / "train", "train")
    walk = corpus.dialogues[2]
    assert [t.text for t in walk.turns][-1] == "Great idea ."
    assert (walk.turns[-1].emotion, walk.turns[-1].act) == (None, None)
    report = corpus.skipped.as_dict()
    (reason,) = report
    assert "kept unlabelled" in reason
    assert report[reason]["count"] == 1
    assert report[reason]["first"][0].endswith("dialogues_train.txt:3")


def _split(write, text, emotion, act):
    write("train/dialogues_train.txt", text)
    write("train/dialogues_emotion_train.txt", emotion)
    write("train/dialogues_act_train.txt", act)


def test_label_without_utterance_is_reported(write, tmp_path):
    _split(write, "Hello . __eou__\n", "0 4\n", "2 1\n")
    corpus = read_dailydialog(tmp_path / "train", "train")
    assert len(corpus.dialogues[0].turns) == 1
    assert sum(corpus.skipped.counts.values()) == 1


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
