"""Corpora from the Hugging Face hub, through ``datasets``, for users with a network.

Nothing here runs unless asked for by name (``read_hub("sst2", "train")``); HappyBot never
downloads on its own. ``datasets`` is an optional dependency: ``pip install "happybot[hub]"``.

Each corpus is read from a repository with the original corpus's schema, converted to the same
data model as the file readers, and checked the same way:

- ``empatheticdialogues``: one utterance a row, columns ``conv_id``, ``utterance_idx``, ``context``,
  ``prompt``, ``utterance`` (``facebook/empathetic_dialogues``);
- ``dailydialog``: one dialogue a row, columns ``dialog`` (list of utterances), ``emotion`` and
  ``act`` (lists of label ids, as in the original files) (``li2017dailydialog/daily_dialog``);
- ``sst2``: columns ``sentence`` and ``label`` (``stanfordnlp/sst2``).

``repo`` may name another repository with the same schema, or a local folder of data files, and
any keyword of ``datasets.load_dataset`` (``revision=...``, ``data_files=...``) passes through.
Script-based repositories need a ``datasets`` release that still runs scripts, or the hub's
parquet conversion: ``revision="refs/convert/parquet"``.
"""

from __future__ import annotations

from typing import Any

from . import dailydialog, empathetic
from .schema import CorpusFormatError, DialogueCorpus, SentimentCorpus, SentimentExample, SkipLog

DEFAULT_REPOS = {
    "empatheticdialogues": "facebook/empathetic_dialogues",
    "dailydialog": "li2017dailydialog/daily_dialog",
    "sst2": "stanfordnlp/sst2",
}
COLUMNS = {
    "empatheticdialogues": ("conv_id", "utterance_idx", "context", "prompt", "utterance"),
    "dailydialog": ("dialog", "emotion", "act"),
    "sst2": ("sentence", "label"),
}


def read_hub(corpus: str, split: str, repo: str | None = None, **load_kwargs: Any) -> DialogueCorpus | SentimentCorpus:
    """Load ``split`` of ``corpus`` with ``datasets.load_dataset`` and convert it."""
    if corpus not in DEFAULT_REPOS:
        raise ValueError(f"corpus must be one of {sorted(DEFAULT_REPOS)}, got {corpus!r}")
    try:
        import datasets
    except ImportError:
        raise ImportError('reading from the Hugging Face hub needs `datasets`: pip install "happybot[hub]"') from None
    repo = repo or DEFAULT_REPOS[corpus]
    rows = datasets.load_dataset(repo, split=split, **load_kwargs)
    source = f"{repo} [{split}]"
    missing = [c for c in COLUMNS[corpus] if c not in rows.column_names]
    if missing:
        raise CorpusFormatError(source, f"lacks column(s) {', '.join(missing)}; found {rows.column_names}")

    if corpus == "empatheticdialogues":
        ed_rows = (
            empathetic.Row(i + 1, r["conv_id"], str(r["utterance_idx"]), r["context"], r["prompt"], r["utterance"])
            for i, r in enumerate(rows)
        )
        dialogues = empathetic.dialogues_from_rows(ed_rows, source, unit="row")
        return DialogueCorpus(name=corpus, split=split, source=source, dialogues=dialogues)

    if corpus == "dailydialog":
        skipped, dialogues = SkipLog(), []
        for i, r in enumerate(rows, start=1):
            try:
                emotions = [dailydialog.EMOTIONS[e] for e in r["emotion"]]
                acts = [dailydialog.ACTS[a] for a in r["act"]]
            except KeyError as e:
                raise CorpusFormatError(source, f"unknown emotion or act id {e}", i, unit="row") from None
            utterances = [u.strip() for u in r["dialog"]]
            problem = dailydialog.dialogue_problem(utterances, emotions, acts)
            if problem:
                raise CorpusFormatError(source, problem, i, unit="row")
            dialogue = dailydialog.labelled_dialogue(f"{repo}:{i}", utterances, emotions, acts, skipped, f"{source} row {i}")
            if dialogue is not None:
                dialogues.append(dialogue)
        return DialogueCorpus(name=corpus, split=split, source=source, dialogues=dialogues, skipped=skipped)

    examples, skipped = [], SkipLog()
    for i, r in enumerate(rows, start=1):
        if r["label"] == -1:  # GLUE hides the test labels as -1
            skipped.add("no label (-1: a hidden test label)", f"{source} row {i}")
            continue
        if r["label"] not in (0, 1) or not isinstance(r["sentence"], str):
            raise CorpusFormatError(source, f"expected a sentence and a label 0 or 1, found {r!r}", i, unit="row")
        examples.append(SentimentExample(r["sentence"].strip(), int(r["label"])))
    return SentimentCorpus(name=corpus, split=split, source=source, examples=examples, skipped=skipped)
