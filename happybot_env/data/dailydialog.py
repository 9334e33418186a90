"""DailyDialog (Li et al., 2017), the split files of the original release.

A split folder holds ``dialogues_<split>.txt`` (one dialogue a line, utterances separated by
``__eou__``), ``dialogues_emotion_<split>.txt`` and ``dialogues_act_<split>.txt`` (one label id per
utterance, space-separated, same line order).

Roles: the speaker who opens the conversation is the **user** and the other speaker the
**system**. DailyDialog's two speakers are symmetric; the opener usually brings the topic or the
request, and the second speaker answers it, which is the part a dialogue agent plays.
"""

from __future__ import annotations

from pathlib import Path

from .io import is_number, read_lines
from .schema import SYSTEM, USER, CorpusFormatError, Dialogue, DialogueCorpus, SkipLog, Turn

NAME = "dailydialog"
EMOTIONS = dict(enumerate(("no_emotion", "anger", "disgust", "fear", "happiness", "sadness", "surprise")))
ACTS = {1: "inform", 2: "question", 3: "directive", 4: "commissive"}
EOU = "__eou__"


def _read_label_lines(path: Path, names: dict[int, str]) -> list[tuple[int, list[str]]]:
    labelled = []
    for number, line in read_lines(path):
        if not line.strip():
            continue
        ids = line.split()
        if not all(is_number(i) and int(i) in names for i in ids):
            raise CorpusFormatError(path, f"expected label ids among {sorted(names)}, found {line!r}", number)
        labelled.append((number, [names[int(i)] for i in ids]))
    return labelled


def _split_utterances(line: str) -> list[str]:
    utterances = [u.strip() for u in line.split(EOU)]
    if utterances and utterances[-1] == "":  # the trailing __eou__
        utterances.pop()
    return utterances


def read_dailydialog(folder: str | Path, split: str) -> DialogueCorpus:
    """Read one DailyDialog split from ``folder`` (for example ``dailydialog/train``)."""
    folder = Path(folder)
    text_path = folder / f"dialogues_{split}.txt"
    emotion_path = folder / f"dialogues_emotion_{split}.txt"
    act_path = folder / f"dialogues_act_{split}.txt"

    texts = [(n, line) for n, line in read_lines(text_path) if line.strip()]
    emotions = _read_label_lines(emotion_path, EMOTIONS)
    acts = _read_label_lines(act_path, ACTS)
    for path, labels in ((emotion_path, emotions), (act_path, acts)):
        if len(labels) != len(texts):
            raise CorpusFormatError(path, f"has {len(labels)} label lines for {len(texts)} dialogues in {text_path}")

    skipped = SkipLog()
    dialogues = []
    for (number, line), (_, emotion_names), (_, act_names) in zip(texts, emotions, acts):
        utterances = _split_utterances(line)
        problem = dialogue_problem(utterances, emotion_names, act_names)
        if problem:
            raise CorpusFormatError(text_path, problem, number)
        dialogue = labelled_dialogue(f"{text_path.name}:{number}", utterances, emotion_names, act_names, skipped, f"{text_path}:{number}")
        if dialogue is not None:
            dialogues.append(dialogue)
    return DialogueCorpus(name=NAME, split=split, source=str(folder), dialogues=dialogues, skipped=skipped)


def dialogue_problem(utterances: list[str], emotions: list[str], acts: list[str]) -> str | None:
    """What makes a dialogue unreadable, if anything (too few or too many labels only skip it)."""
    if any(u == "" for u in utterances):
        return "empty utterance"
    if len(emotions) != len(acts):
        return f"{len(acts)} acts but {len(emotions)} emotions"
    return None


def labelled_dialogue(
    dialogue_id: str, utterances: list[str], emotions: list[str], acts: list[str], skipped: SkipLog, place: str
) -> Dialogue | None:
    """Pair utterances with their labels in order; None, logged in ``skipped``, if their counts differ.

    Roles alternate by position, so an utterance without its label breaks them from that point on,
    and where it sits cannot be told. The one such dialogue of the original release (train line
    7852) splits one speaker's turn into two utterances: kept, every turn after it would be spoken
    by the wrong party.
    """
    if len(utterances) != len(emotions):
        skipped.add("labels and utterances differ in number: the speakers cannot be told", place)
        return None
    return Dialogue(id=dialogue_id, turns=tuple(
        Turn(role=USER if i % 2 == 0 else SYSTEM, text=text, emotion=emotion, act=act)
        for i, (text, emotion, act) in enumerate(zip(utterances, emotions, acts))
    ))
