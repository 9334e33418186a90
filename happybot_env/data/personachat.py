"""PersonaChat (Zhang et al., 2018) in ParlAI's text format, for example
``valid_self_original_no_cands.txt`` of the ConvAI2 release.

Lines are numbered, and the numbering restarts at 1 for each dialogue. ``N your persona: ...``
lines give the persona (``N partner's persona: ...`` in the ``both`` files); other lines are
``N <partner utterance>\\t<self utterance>``, optionally followed by ParlAI's reward and
``|``-separated label candidates, which HappyBot does not use.

Roles: the partner is the **user** and "self", the side that holds the persona and answers, is
the **system**. When the system speaks first, ParlAI writes the partner's turn as
``__SILENCE__``; that placeholder is not a turn and is counted as skipped.
"""

from __future__ import annotations

from pathlib import Path

from .io import is_number, read_lines
from .schema import SYSTEM, USER, CorpusFormatError, Dialogue, DialogueCorpus, SkipLog, Turn

NAME = "personachat"
SILENCE = "__SILENCE__"
PERSONA_PREFIXES = ("your persona:", "partner's persona:")


def read_personachat(path: str | Path, split: str | None = None) -> DialogueCorpus:
    """Read one PersonaChat file in ParlAI text format."""
    path = Path(path)
    skipped = SkipLog()
    dialogues: list[Dialogue] = []
    persona: list[str] = []
    turns: list[Turn] = []
    start_line = 0
    previous_number = 0

    def close_dialogue() -> None:
        if turns:
            dialogues.append(Dialogue(id=f"{path.name}:{start_line}", turns=tuple(turns), persona=tuple(persona)))
        elif persona:
            skipped.add("dialogue with a persona but no exchange", f"{path}:{start_line}")
        persona.clear()
        turns.clear()

    for number, line in read_lines(path):
        if not line.strip():
            continue
        counter, _, rest = line.partition(" ")
        if not is_number(counter):
            raise CorpusFormatError(path, f"line must start with its number, found {line[:40]!r}", number)
        if int(counter) == 1:
            close_dialogue()
            start_line = number
        elif int(counter) != previous_number + 1:
            raise CorpusFormatError(path, f"line number {counter} does not follow {previous_number}", number)
        previous_number = int(counter)

        if rest.startswith(PERSONA_PREFIXES):
            if rest.startswith("your persona:"):
                persona.append(rest.partition(":")[2].strip())
            continue
        fields = rest.split("\t")
        if len(fields) not in (2, 4):
            raise CorpusFormatError(
                path, f"expected '<partner>\\t<self>' (2 or 4 tab-separated fields), found {len(fields)}", number
            )
        partner, own = fields[0].strip(), fields[1].strip()
        if not partner or not own:
            raise CorpusFormatError(path, f"the {'partner' if not partner else 'self'} turn is empty", number)
        if partner == SILENCE:
            skipped.add("__SILENCE__ placeholder for the partner (the system spoke first)", f"{path}:{number}")
        else:
            turns.append(Turn(role=USER, text=partner))
        turns.append(Turn(role=SYSTEM, text=own))
    close_dialogue()
    return DialogueCorpus(name=NAME, split=split or path.name.split("_")[0], source=str(path), dialogues=dialogues, skipped=skipped)
