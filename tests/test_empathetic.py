import pytest

from happybot_env.data import SYSTEM, USER, CorpusFormatError, read_empathetic_dialogues

HEADER = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags\n"


def test_reads_conversations_roles_and_commas(fixtures):
    corpus = read_empathetic_dialogues(fixtures / "empatheticdialogues" / "train.csv")
    assert corpus.split == "train"
    assert [d.id for d in corpus.dialogues] == ["hit:1_conv:2", "hit:5_conv:10"]
    proud = corpus.dialogues[0]
    assert proud.emotion == "proud"
    assert proud.situation == "My daughter won the spelling bee, all by herself."
    assert [t.role for t in proud.turns] == [USER, SYSTEM, USER, SYSTEM]
    assert proud.turns[1].text == "That is wonderful, you must be so proud of her."
    assert corpus.num_utterances == 7


def test_reads_the_original_nine_column_form(fixtures):
    corpus = read_empathetic_dialogues(fixtures / "empatheticdialogues" / "valid.csv")
    (dialogue,) = corpus.dialogues
    assert [t.text for t in dialogue.turns] == ["A huge dog chased me all the way home last night.", "Oh no! Were you hurt?"]


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("c1,1,sad,s,,hello,,\nc1,2,sad,s,,a stray, comma,,\n", 3, "field selfeval holds ' comma'"),
        ("c1,1,sad,s,,hello,,\nc1,3,sad,s,,skipped one,,\n", 3, "utterance_idx 3 of c1 does not follow 1"),
        ("c1,2,sad,s,,hello,,\n", 2, "starts at utterance_idx 2"),
        ("c1,one,sad,s,,hello,,\n", 2, "utterance_idx must be a positive integer"),
        ("c1,\u00b9,sad,s,,hello,,\n", 2, "utterance_idx must be a positive integer"),
        ("c1,1,hangry,s,,hello,,\n", 2, "unknown emotion 'hangry'"),
        ("c1,1,sad,s,,a,,\nc2,1,sad,s,,b,,\nc1,2,sad,s,,c,,\n", 4, "conversation c1 appears again"),
        (",1,sad,s,,hello,,\n", 2, "field conv_id is empty"),
        ("c1,1,sad,s,,hello,,\nc1,2,sad,s,,  ,,\n", 3, "field utterance is empty"),
        ("c1,1,sad,s,,hello,,\nc1,2,joyful,s,,hi,,\n", 3, "field context 'joyful' differs from 'sad' earlier in conversation c1"),
    ],
)
def test_malformed_lines_name_file_and_line(write, body, line, message):
    path = write("train.csv", HEADER + body)
    with pytest.raises(CorpusFormatError, match=message) as error:
        read_empathetic_dialogues(path)
    assert str(error.value).startswith(f"{path}, line {line}:")


def test_stray_comma_in_a_nine_field_line_is_caught_by_field_count(write):
    # A 9-field line is only valid as the original valid/test form; 10 fields is always wrong.
    path = write("valid.csv", HEADER + "c1,1,sad,s,,one, two, three,,\n")
    with pytest.raises(CorpusFormatError, match="line 2: expected 8 or 9 comma-separated fields, found 10"):
        read_empathetic_dialogues(path)


def test_missing_column_in_header(write):
    path = write("train.csv", "conv_id,utterance_idx,context,prompt,utterance\nc1,1,sad,s,hello\n")
    with pytest.raises(CorpusFormatError, match=r"line 1: header must start with conv_id,utterance_idx"):
        read_empathetic_dialogues(path)


def test_undecodable_byte_names_the_line(write):
    path = write("train.csv", HEADER.encode() + b"c1,1,sad,s,,caf\xe9 au lait,,\n")
    with pytest.raises(CorpusFormatError, match=r"line 2: byte 0xe9 at column 16 is not valid UTF-8"):
        read_empathetic_dialogues(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(CorpusFormatError, match=f"{tmp_path / 'nope.csv'}: file not found"):
        read_empathetic_dialogues(tmp_path / "nope.csv")


def test_empty_file(write):
    with pytest.raises(CorpusFormatError, match="empty file"):
        read_empathetic_dialogues(write("train.csv", ""))
