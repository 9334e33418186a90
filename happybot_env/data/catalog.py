"""Where each corpus lives inside a data directory, and the built-in default corpus.

The layout is the one the original publishers' archives unpack to (``../shared/data`` follows it)::

    empatheticdialogues/{train,valid,test}.csv
    dailydialog/<split>/dialogues_<split>.txt (+ _emotion_, _act_)   (or ijcnlp_dailydialog/)
    personachat/<split>_self_original_no_cands.txt                   (or ..._self_original.txt)
    sst2/glue/{train,dev}.tsv                                          (or SST-2/)
    sst2/sentence_level/stsa.binary.{train,dev}
    sst2/trees/{train,dev}.txt
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from .chitchat import SPLITS as CHITCHAT_SPLITS
from .chitchat import read_chitchat
from .dailydialog import read_dailydialog
from .empathetic import read_empathetic_dialogues
from .personachat import read_personachat
from .schema import Dialogue, DialogueCorpus, SentimentCorpus
from .sst2 import read_sst2_glue, read_sst2_sentences, read_sst2_trees

DIALOGUE_CORPORA = ("empatheticdialogues", "dailydialog", "personachat", "chitchat")
# the corpora name their held-out split differently
VALIDATION_SPLITS = ("valid", "validation", "dev")
LOOKED_FOR = (
    "empatheticdialogues/<split>.csv",
    "dailydialog/<split>/dialogues_<split>.txt or ijcnlp_dailydialog/<split>/dialogues_<split>.txt",
    "personachat/<split>_self_original_no_cands.txt or personachat/<split>_self_original.txt",
    "sst2/glue/<split>.tsv or SST-2/<split>.tsv",
    "sst2/sentence_level/stsa.binary.<split>",
    "sst2/trees/<split>.txt",
)


@dataclass(frozen=True)
class Source:
    """One split of one corpus, found on disk, read on demand."""

    corpus: str
    split: str
    path: Path
    read: Callable[[], DialogueCorpus | SentimentCorpus]


class NoCorpusFound(FileNotFoundError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(f"no known corpus under {data_dir}; looked for: " + "; ".join(LOOKED_FOR))


def find_corpora(data_dir: str | Path) -> list[Source]:
    """Every corpus split under ``data_dir``; raises ``NoCorpusFound`` listing the layout when none is."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory {data_dir} does not exist")
    sources = []
    for path in sorted((data_dir / "empatheticdialogues").glob("*.csv")):
        sources.append(Source("empatheticdialogues", path.stem, path, partial(read_empathetic_dialogues, path)))
    for folder_name in ("dailydialog", "ijcnlp_dailydialog"):
        for path in sorted((data_dir / folder_name).glob("*/dialogues_*.txt")):
            split = path.parent.name
            if path.name == f"dialogues_{split}.txt":
                sources.append(Source("dailydialog", split, path.parent, partial(read_dailydialog, path.parent, split)))
    for suffix in ("_self_original_no_cands.txt", "_self_original.txt"):
        for path in sorted((data_dir / "personachat").glob(f"*{suffix}")):
            split = path.name.removesuffix(suffix)
            sources.append(Source("personachat", split, path, partial(read_personachat, path, split)))
    for folder in (data_dir / "sst2" / "glue", data_dir / "SST-2"):
        for path in sorted(folder.glob("*.tsv")):
            if path.name == "test.tsv":  # GLUE's test sentences come without labels (columns index, sentence)
                continue
            sources.append(Source("sst2/glue", path.stem, path, partial(read_sst2_glue, path)))
    for path in sorted((data_dir / "sst2" / "sentence_level").glob("stsa.binary.*")):
        split = path.name.removeprefix("stsa.binary.")
        sources.append(Source("sst2/sentence_level", split, path, partial(read_sst2_sentences, path, split)))
    for path in sorted((data_dir / "sst2" / "trees").glob("*.txt")):
        sources.append(Source("sst2/trees", path.stem, path, partial(read_sst2_trees, path)))
    if not sources:
        raise NoCorpusFound(data_dir)
    # one source a split: a corpus found in both of its places (dailydialog/ and ijcnlp_dailydialog/,
    # two PersonaChat variants) would otherwise be read twice, its dialogues counted twice
    first: dict[tuple[str, str], Source] = {}
    for source in sources:
        first.setdefault((source.corpus, source.split), source)
    return list(first.values())


def dialogue_sources(sources: list[Source]) -> list[Source]:
    """The sources that hold dialogues (not sentiment sentences)."""
    return [s for s in sources if s.corpus in DIALOGUE_CORPORA]


def training_sources(sources: list[Source]) -> list[Source]:
    """The splits to train on: every ``train`` split, and the held-out split of a corpus that has no other.

    PersonaChat in ``../shared/data`` ships its valid file alone; training on it lets the policy and the
    look-ahead predictor learn from all three of the paper's dialogue corpora. Test splits are never used.
    """
    return [s for s in sources if s.split == "train" or (s.split in VALIDATION_SPLITS and not _has_train(s, sources))]


def held_out_sources(sources: list[Source]) -> list[Source]:
    """The validation splits (whatever each corpus calls them) of the corpora that also have a train
    split, each read without the dialogues that its train split holds word for word.

    DailyDialog's validation split repeats 77 of its 1,000 dialogues from train: a model scored on
    them is scored on what it learned.
    """
    held_out = []
    for source in sources:
        if source.split in VALIDATION_SPLITS and _has_train(source, sources):
            train = [other for other in sources if other.corpus == source.corpus and other.split == "train"]
            held_out.append(replace(source, read=partial(_read_unseen, source.read, train)))
    return held_out


def _read_unseen(read: Callable[[], DialogueCorpus], train: list[Source]) -> DialogueCorpus:
    corpus = read()
    seen = {_words(dialogue) for source in train for dialogue in source.read().dialogues}
    unseen = []
    for dialogue in corpus.dialogues:
        if _words(dialogue) in seen:
            corpus.skipped.add("repeats a train dialogue", dialogue.id)
        else:
            unseen.append(dialogue)
    corpus.dialogues = unseen
    return corpus


def _words(dialogue: Dialogue) -> tuple[str, ...]:
    """A dialogue's turns, in lower case with single spaces: the copies differ in spacing at most."""
    return tuple(" ".join(turn.text.lower().split()) for turn in dialogue.turns)


def _has_train(source: Source, sources: list[Source]) -> bool:
    return any(other.corpus == source.corpus and other.split == "train" for other in sources)


def default_corpora() -> list[Source]:
    """The built-in default corpus (``chitchat-dataset``), split into train and validation."""
    from .chitchat import default_path

    return [Source("chitchat", split, default_path(), partial(read_chitchat, split)) for split in CHITCHAT_SPLITS]
