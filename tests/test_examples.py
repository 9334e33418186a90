import re
from pathlib import Path

from happybot_env.data import (
    DAILYDIALOG_EMOTION_SENTIMENT,
    ED_EMOTION_SENTIMENT,
    NEGATIVE,
    POSITIVE,
    SYSTEM,
    USER,
    Dialogue,
    DialogueCorpus,
    Turn,
    policy_triples,
    read_empathetic_dialogues,
    situation_sentiment,
)
from happybot_env.data.dailydialog import EMOTIONS as DAILYDIALOG_EMOTIONS

README = Path(__file__).resolve().parents[1] / "README.md"

ED_EMOTIONS = """afraid angry annoyed anticipating anxious apprehensive ashamed caring confident content devastated
disappointed disgusted embarrassed excited faithful furious grateful guilty hopeful impressed jealous joyful lonely
nostalgic prepared proud sad sentimental surprised terrified trusting""".split()


def test_triples_follow_the_paper(fixtures):
    corpus = read_empathetic_dialogues(fixtures / "empatheticdialogues" / "train.csv")
    first, second, third = policy_triples(corpus.dialogues)
    # u1 opens the dialogue: no s_0, so the context is u1 alone.
    assert first.previous_system == "" and first.context == ["My daughter won the school spelling bee today!"]
    assert first.response == "That is wonderful, you must be so proud of her."
    assert first.next_user == "I am! She practised every night for a month."
    assert second.context == [first.response, first.next_user]
    assert second.response == "Hard work pays off. Congratulations to her!"
    assert second.next_user is None  # the dialogue ends with the response
    assert first.emotion == "proud" and third.emotion == "lonely"


def test_triples_need_a_user_turn_before_the_response():
    dialogue = Dialogue("d", (Turn(SYSTEM, "hello!"), Turn(USER, "hi"), Turn(SYSTEM, "how are you?"), Turn(USER, "fine")))
    (triple,) = policy_triples([dialogue])
    assert (triple.previous_system, triple.user, triple.response, triple.next_user) == ("hello!", "hi", "how are you?", "fine")


def test_triples_carry_the_user_turn_emotion_when_the_dialogue_has_none():
    dialogue = Dialogue("d", (Turn(USER, "I won!", emotion="happiness"), Turn(SYSTEM, "Congratulations!")))
    assert next(policy_triples([dialogue])).emotion == "happiness"


def test_situations_become_labelled_sentences(fixtures):
    corpus = read_empathetic_dialogues(fixtures / "empatheticdialogues" / "train.csv")
    examples = situation_sentiment(corpus).examples
    assert [(e.text, e.label) for e in examples] == [
        ("My daughter won the spelling bee, all by herself.", POSITIVE),
        ("I moved to a new city and I do not know anyone here.", NEGATIVE),
    ]


def test_dialogue_without_situation_is_skipped_and_counted():
    corpus = DialogueCorpus("empatheticdialogues", "train", "x.csv", [Dialogue("d", (), emotion="sad", situation=" ")])
    result = situation_sentiment(corpus)
    assert result.examples == [] and sum(result.skipped.counts.values()) == 1


def test_emotion_tables_are_complete_and_binary():
    assert sorted(ED_EMOTION_SENTIMENT) == sorted(ED_EMOTIONS)
    assert set(ED_EMOTION_SENTIMENT.values()) == {POSITIVE, NEGATIVE}
    assert sum(v == POSITIVE for v in ED_EMOTION_SENTIMENT.values()) == 16
    assert set(DAILYDIALOG_EMOTION_SENTIMENT) == set(DAILYDIALOG_EMOTIONS.values())
    assert DAILYDIALOG_EMOTION_SENTIMENT["no_emotion"] is None


def test_readme_publishes_the_same_table():
    rows = re.findall(r"^\| (\w+) \| (\w+) \| (positive|negative|neutral) \|$", README.read_text(), re.MULTILINE)
    names = {None: "neutral", POSITIVE: "positive", NEGATIVE: "negative"}
    published = {(corpus, emotion): sentiment for corpus, emotion, sentiment in rows}
    expected = {("EmpatheticDialogues", e): names[s] for e, s in ED_EMOTION_SENTIMENT.items()}
    expected |= {("DailyDialog", e): names[s] for e, s in DAILYDIALOG_EMOTION_SENTIMENT.items()}
    assert published == expected
