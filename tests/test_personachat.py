import pytest

from happybot_env.data import SYSTEM, USER, CorpusFormatError, read_personachat


def test_reads_personas_and_exchanges(fixtures):
    corpus = read_personachat(fixtures / "personachat" / "valid_self_original_no_cands.txt")
    assert corpus.split == "valid"
    hiker, nurse = corpus.dialogues
    assert hiker.persona == ("i love hiking in the mountains.", "i have two cats.")
    assert [t.role for t in hiker.turns] == [USER, SYSTEM, USER, SYSTEM]
    assert hiker.turns[1].text == "i am great , just back from a hike ."
    assert nurse.persona == ("i am a nurse.",)


def test_silence_placeholder_is_not_a_turn(fixtures):
    corpus = read_personachat(fixtures / "personachat" / "valid_self_original_no_cands.txt")
    nurse = corpus.dialogues[1]
    assert [t.role for t in nurse.turns] == [SYSTEM, USER, SYSTEM]
    assert "__SILENCE__" not in {t.text for t in nurse.turns}
    assert sum(corpus.skipped.counts.values()) == 1


def test_candidates_and_partner_persona_are_accepted(write):
    path = write(
        "train_both_original.txt",
        "1 your persona: i bake.\n2 partner's persona: i run.\n3 hello !\thi , i bake bread .\t\tbye|hi , i bake bread .\n",
    )
    (dialogue,) = read_personachat(path).dialogues
    assert dialogue.persona == ("i bake.",)
    assert [t.text for t in dialogue.turns] == ["hello !", "hi , i bake bread ."]


@pytest.mark.parametrize(
    "content, line, message",
    [
        ("1 your persona: i bake.\n2 hello ! no tab here\n", 2, "2 or 4 tab-separated fields"),
        ("1 hi\tyo\n3 bye\tcya\n", 2, "line number 3 does not follow 1"),
        ("hi\tyo\n", 1, "line must start with its number"),
        ("\u00b9 hi\tyo\n", 1, "line must start with its number"),  # a digit to isdigit, not to int
        ("1 hi\tyo\n2 how are you ?\t \n", 2, "the self turn is empty"),
        ("1  \tyo\n", 1, "the partner turn is empty"),
    ],
)
def test_malformed_lines_name_file_and_line(write, content, line, message):
    path = write("valid_self_original.txt", content)
    with pytest.raises(CorpusFormatError, match=message) as error:
        read_personachat(path)
    assert str(error.value).startswith(f"{path}, line {line}:")
