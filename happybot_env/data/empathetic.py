"""EmpatheticDialogues (Rashkin et al., 2019), the original release's CSV files.

Each line is one utterance: ``conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags``
with commas inside text written ``_comma_`` (so lines split on ``,``; the csv module trips on stray
quotes). The original valid/test files add a 9th field of ``|``-separated candidate responses, which
HappyBot does not use.

Roles: the person telling the story (odd ``utterance_idx``) is the **user**, the listener is the
**system**. The listener is the empathetic side that HappyBot learns to imitate and improve.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from .emotions import ED_EMOTION_SENTIMENT
from .io import is_number, read_lines
from .schema import SYSTEM, USER, CorpusFormatError, Dialogue, DialogueCorpus, Turn

NAME = "empatheticdialogues"
REQUIRED_COLUMNS = ("conv_id", "utterance_idx", "context", "prompt", "speaker_idx", "utterance")
FIELD_COUNTS = (8, 9)
# selfeval is empty or ratings such as 5|5|5_2|2|5: text there means a comma not written _comma_.
SELFEVAL = re.compile(r"[\d|_]*")


class Row(NamedTuple):
    """One utterance, as the CSV files and the Hugging Face hub copy both hold it."""

    number: int
    """Where it was read: the line of the file, or the row of the hub split."""
    conv_id: str
    utterance_idx: str
    context: str
    prompt: str
    utterance: str


def _unescape(text: str) -> str:
    return text.replace("_comma_", ",")


def dialogues_from_rows(rows: Iterable[Row], source: str, unit: str = "line") -> list[Dialogue]:
    """Group consecutive utterance rows into dialogues, checking ids, order and emotion labels."""
    dialogues: list[Dialogue] = []
    seen: set[str] = set()
    current: list[Row] = []

    def close_conversation() -> None:
        first = current[0]
        turns = tuple(Turn(role=USER if int(r.utterance_idx) % 2 == 1 else SYSTEM, text=_unescape(r.utterance)) for r in current)
        dialogues.append(Dialogue(id=first.conv_id, turns=turns, emotion=first.context, situation=_unescape(first.prompt)))
        seen.add(first.conv_id)
        current.clear()

    for row in rows:
        def fail(message: str, row: Row = row) -> CorpusFormatError:
            return CorpusFormatError(source, message, row.number, unit)

        if not str(row.conv_id).strip():
            raise fail("field conv_id is empty")
        if not is_number(str(row.utterance_idx)):
            raise fail(f"field utterance_idx must be a positive integer, found {row.utterance_idx!r}")
        if row.context not in ED_EMOTION_SENTIMENT:
            raise fail(f"field context holds unknown emotion {row.context!r}")
        if not _unescape(row.utterance).strip():
            raise fail("field utterance is empty")
        if current and row.conv_id != current[-1].conv_id:
            close_conversation()
        if current and row.context != current[0].context:  # a conversation has one emotion: which would be its label?
            raise fail(f"field context {row.context!r} differs from {current[0].context!r} earlier in conversation {row.conv_id}")
        if not current:
            if row.conv_id in seen:
                raise fail(f"conversation {row.conv_id} appears again after other conversations")
            if int(row.utterance_idx) != 1:
                raise fail(f"conversation {row.conv_id} starts at utterance_idx {row.utterance_idx}, expected 1")
        elif int(row.utterance_idx) != int(current[-1].utterance_idx) + 1:
            raise fail(f"utterance_idx {row.utterance_idx} of {row.conv_id} does not follow {current[-1].utterance_idx}")
        current.append(row)
    if current:
        close_conversation()
    return dialogues


def _csv_rows(path: Path) -> Iterator[Row]:
    lines = read_lines(path)
    header = next(lines, None)
    if header is None:
        raise CorpusFormatError(path, "empty file, expected a header line")
    if tuple(header[1].split(",")[: len(REQUIRED_COLUMNS)]) != REQUIRED_COLUMNS:
        raise CorpusFormatError(path, f"header must start with {','.join(REQUIRED_COLUMNS)}, found {header[1]!r}", 1)
    for number, line in lines:
        if not line:
            continue
        fields = line.split(",")
        if len(fields) not in FIELD_COUNTS:
            raise CorpusFormatError(
                path,
                f"expected {' or '.join(map(str, FIELD_COUNTS))} comma-separated fields, found {len(fields)} "
                "(commas inside text must be written _comma_)",
                number,
            )
        if not SELFEVAL.fullmatch(fields[6]):
            raise CorpusFormatError(
                path, f"field selfeval holds {fields[6]!r}: is a comma inside the text not written _comma_?", number
            )
        conv_id, utterance_idx, context, prompt, _speaker_idx, utterance = fields[:6]
        yield Row(number, conv_id, utterance_idx, context, prompt, utterance)


def read_empathetic_dialogues(path: str | Path, split: str | None = None) -> DialogueCorpus:
    """Read one EmpatheticDialogues CSV file (``train.csv``, ``valid.csv`` or ``test.csv``)."""
    path = Path(path)
    dialogues = dialogues_from_rows(_csv_rows(path), str(path))
    return DialogueCorpus(name=NAME, split=split or path.stem, source=str(path), dialogues=dialogues)
