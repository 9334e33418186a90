import json

import pytest

from happybot_env.data import SYSTEM, USER, CorpusFormatError, read_chitchat
from happybot_env.data.chitchat import split_of


def _message(sender, text):
    return {"sender": sender, "text": text, "timestamp": "2018-05-02T19:38:15Z"}


def _conversation_in(split: str) -> str:
    return next(f"conv-{i}" for i in range(1000) if split_of(f"conv-{i}") == split)


def test_consecutive_messages_of_one_sender_form_one_turn(write):
    conv = _conversation_in("train")
    data = {
        conv: {
            "messages": [
                [_message("a", "Hello"), _message("a", "How are you?")],
                [_message("b", "good"), _message("b", "  ")],
                [_message("b", "and you?")],  # a new group, same sender: still the same turn
                [_message("a", "Great, thanks")],
            ]
        }
    }
    corpus = read_chitchat("train", path=write("dataset.json", json.dumps(data)))
    (dialogue,) = corpus.dialogues
    assert [(t.role, t.text) for t in dialogue.turns] == [
        (USER, "Hello How are you?"),
        (SYSTEM, "good and you?"),
        (USER, "Great, thanks"),
    ]
    assert dict(corpus.skipped.counts) == {"empty message": 1}


def test_one_speaker_conversations_are_skipped_and_counted(write):
    conv = _conversation_in("validation")
    data = {conv: {"messages": [[_message("a", "hi there"), _message("a", "are you there?")]]}}
    corpus = read_chitchat("validation", path=write("dataset.json", json.dumps(data)))
    assert corpus.dialogues == []
    assert dict(corpus.skipped.counts) == {"conversation with one speaker only (nobody answered)": 1}


def test_built_in_corpus_splits_cover_every_conversation_once():
    train, validation = read_chitchat("train"), read_chitchat("validation")
    ids = [d.id for d in train.dialogues + validation.dialogues]
    assert len(ids) == len(set(ids))
    skipped = sum(train.skipped.counts.values()) + sum(validation.skipped.counts.values())
    empty = train.skipped.counts["empty message"] + validation.skipped.counts["empty message"]
    assert len(ids) + skipped - empty == 7168  # the package's conversation count
    assert 0.05 < len(validation.dialogues) / len(ids) < 0.15


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "not valid JSON"),
        (b'{"c": {"no_messages": []}}', "missing or malformed field"),
        (b"[]", "expected a JSON object"),
    ],
)
def test_malformed_file_names_the_path(write, content, message):
    path = write("dataset.json", content)
    with pytest.raises(CorpusFormatError, match=message) as error:
        # "c" may fall in either split; read both so the malformed conversation is always reached
        read_chitchat("train", path=path)
        read_chitchat("validation", path=path)
    assert str(error.value).startswith(str(path))


def test_unknown_split():
    with pytest.raises(ValueError, match="split must be one of"):
        read_chitchat("test")
