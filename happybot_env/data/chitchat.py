"""The built-in default corpus: the Chit-Chat Challenge dataset of the PyPI package
``chitchat-dataset`` (BYU PCC lab, MIT licence, 7,168 conversations between two people).

Its JSON holds, per conversation, a list of messages with their sender. Consecutive messages of
one sender form one turn (joined with a space). Empty messages are skipped, and so are
conversations where only one person wrote (nobody answered), each counted.

Roles: the person who opens the conversation is the **user** and the one who answers is the
**system**, as in DailyDialog.

The package ships no splits. HappyBot puts a conversation in ``validation`` when the CRC-32 of
its id is divisible by 10 (about 10%), in ``train`` otherwise: stable across machines and
releases of the package, with no random state.
"""

from __future__ import annotations

import itertools
import json
import zlib
from pathlib import Path

from .schema import SYSTEM, USER, CorpusFormatError, Dialogue, DialogueCorpus, SkipLog, Turn

NAME = "chitchat"
SPLITS = ("train", "validation")


def default_path() -> Path:
    """The ``dataset.json`` installed with the ``chitchat-dataset`` package."""
    import chitchat_dataset

    return Path(chitchat_dataset.__file__).parent / "dataset.json"


def split_of(conversation_id: str) -> str:
    return "validation" if zlib.crc32(conversation_id.encode("utf-8")) % 10 == 0 else "train"


def read_chitchat(split: str, path: str | Path | None = None) -> DialogueCorpus:
    """Read one split of the chit-chat corpus (from the installed package unless ``path`` is given)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = Path(path) if path is not None else default_path()
    try:
        conversations = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise CorpusFormatError(path, "file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorpusFormatError(path, f"not valid JSON: {e}") from None
    if not isinstance(conversations, dict):
        raise CorpusFormatError(path, "expected a JSON object mapping conversation ids to conversations")

    skipped = SkipLog()
    dialogues = []
    for conversation_id, conversation in conversations.items():
        if split_of(conversation_id) != split:
            continue
        try:
            messages = [m for group in conversation["messages"] for m in group]
            texts = [(m["sender"], m["text"].strip()) for m in messages]
        except (KeyError, TypeError) as e:
            raise CorpusFormatError(path, f"conversation {conversation_id}: missing or malformed field {e}") from None
        for _, text in texts:
            if not text:
                skipped.add("empty message", f"{path.name}:{conversation_id}")
        groups = itertools.groupby(((s, t) for s, t in texts if t), key=lambda st: st[0])
        turn_texts = [" ".join(t for _, t in group) for _, group in groups]
        if len(turn_texts) < 2:
            skipped.add("conversation with one speaker only (nobody answered)", f"{path.name}:{conversation_id}")
            continue
        turns = tuple(Turn(role=USER if i % 2 == 0 else SYSTEM, text=t) for i, t in enumerate(turn_texts))
        dialogues.append(Dialogue(id=conversation_id, turns=turns))
    return DialogueCorpus(name=NAME, split=split, source=str(path), dialogues=dialogues, skipped=skipped)
