"""The small data model that every corpus reader produces.

A dialogue is an ordered list of turns, each spoken by the *user* or the *system* (see
``roles`` in the README for which side of each corpus plays which). Sentiment corpora produce
``SentimentExample``s: a text and a binary label.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

USER = "user"
SYSTEM = "system"

NEGATIVE = 0
POSITIVE = 1


class CorpusFormatError(ValueError):
    """A corpus file that cannot be read: the message names the file and, where known, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None, unit: str = "line") -> None:
        self.path = str(path)
        self.line = line
        where = self.path if line is None else f"{self.path}, {unit} {line}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Turn:
    role: str
    """``USER`` or ``SYSTEM``."""
    text: str
    emotion: str | None = None
    """The turn's emotion label where the corpus has one (DailyDialog)."""
    act: str | None = None
    """The turn's dialogue act where the corpus has one (DailyDialog)."""


@dataclass(frozen=True)
class Dialogue:
    id: str
    """Identifier unique within its corpus split (the corpus's own id, or ``<file>:<line>``)."""
    turns: tuple[Turn, ...]
    emotion: str | None = None
    """The dialogue-level emotion (EmpatheticDialogues' ``context``)."""
    situation: str | None = None
    """The user's situation text (EmpatheticDialogues' ``prompt``)."""
    persona: tuple[str, ...] = ()
    """The system's persona sentences (PersonaChat)."""


@dataclass(frozen=True)
class SentimentExample:
    text: str
    label: int
    """``POSITIVE`` (1) or ``NEGATIVE`` (0)."""


@dataclass
class SkipLog:
    """What a reader or builder left out, counted by reason, with the first few places."""

    counts: Counter = field(default_factory=Counter)
    where: dict[str, list[str]] = field(default_factory=dict)
    max_places: int = 5

    def add(self, reason: str, place: str) -> None:
        self.counts[reason] += 1
        places = self.where.setdefault(reason, [])
        if len(places) < self.max_places:
            places.append(place)

    def as_dict(self) -> dict[str, dict]:
        return {reason: {"count": n, "first": self.where[reason]} for reason, n in self.counts.items()}


@dataclass
class DialogueCorpus:
    name: str
    split: str
    source: str
    """The file or folder the dialogues were read from."""
    dialogues: list[Dialogue]
    skipped: SkipLog = field(default_factory=SkipLog)

    @property
    def num_utterances(self) -> int:
        return sum(len(d.turns) for d in self.dialogues)


@dataclass
class SentimentCorpus:
    name: str
    split: str
    source: str
    examples: list[SentimentExample]
    skipped: SkipLog = field(default_factory=SkipLog)


@dataclass(frozen=True)
class PolicyExample:
    """One policy triple of the paper: context ``[s_i; u_i+1]``, response ``s_i+1``, next user ``u_i+2``."""

    dialogue_id: str
    response_turn: int
    """Index of the response in ``Dialogue.turns`` (the next user turn, if any, follows it)."""
    previous_system: str
    """``s_i``; empty when ``u_i+1`` opens the dialogue."""
    user: str
    """``u_i+1``, the user turn the response answers (and the reward models score it with)."""
    response: str
    """``s_i+1``, the gold system response."""
    next_user: str | None
    """``u_i+2``, the user's reply to the response; ``None`` when the dialogue ends with the response."""
    emotion: str | None = None
    """The context's emotion: the dialogue's (EmpatheticDialogues) or the user turn's (DailyDialog)."""

    @property
    def context(self) -> list[str]:
        return [t for t in (self.previous_system, self.user) if t]
