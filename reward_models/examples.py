"""Training data for the reward models, assembled from the corpora a data directory holds.

- The classifier: SST-2 (GLUE's 67k phrases when present, else the sentence-level or tree files)
  plus the EmpatheticDialogues situations labelled through the emotion table; validation on the
  SST-2 dev sentences and the ED validation situations.
- The predictor: ``[u_i; s_i]`` labelled with the sentiment of ``u_i+1``, for every system turn
  whose next user turn has a label. Train and held-out splits are chosen as for the policy
  (``training_sources`` and ``held_out_sources``): PersonaChat's only split trains.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

from happybot_env.data import (
    DialogueCorpus,
    Source,
    dialogue_sources,
    held_out_sources,
    training_sources,
    policy_triples,
    situation_sentiment,
)
from happybot_env.data.io import read_lines

from .training import LabelledText

SST2_TRAIN_PREFERENCE = ("sst2/glue", "sst2/sentence_level", "sst2/trees")
SST2_DEV_PREFERENCE = ("sst2/sentence_level", "sst2/glue", "sst2/trees")
LICENCES = {
    "empatheticdialogues": "EmpatheticDialogues: CC BY-NC 4.0",
    "dailydialog": "DailyDialog: CC BY-NC-SA 4.0",
    "personachat": "PersonaChat: MIT (ParlAI)",
    "chitchat": "chitchat-dataset: MIT",
    "sst2": "SST-2: no licence stated by its authors",
}


def _pick(sources: list[Source], preference: tuple[str, ...], split: str) -> Source | None:
    for corpus in preference:
        for source in sources:
            if source.corpus == corpus and source.split == split:
                return source
    return None


def classifier_data(sources: list[Source]) -> tuple[list[LabelledText], dict[str, list[LabelledText]], dict]:
    """``(train, validation sets, description of the data used)`` for the sentiment classifier."""
    sst_train, sst_dev = _pick(sources, SST2_TRAIN_PREFERENCE, "train"), _pick(sources, SST2_DEV_PREFERENCE, "dev")
    ed = {s.split: s for s in sources if s.corpus == "empatheticdialogues"}
    if sst_train is None or "train" not in ed:
        raise FileNotFoundError("the classifier trains on SST-2 and EmpatheticDialogues: the data directory lacks one")
    def examples(source: Source, situations: bool = False) -> list[LabelledText]:
        corpus = situation_sentiment(source.read()) if situations else source.read()
        if not corpus.examples:  # an empty dev file would read as an accuracy of 0.0
            raise ValueError(f"{source.path} holds no {'situations' if situations else 'examples'}")
        return [LabelledText(e.text, e.label) for e in corpus.examples]

    train = examples(sst_train) + examples(ed["train"], situations=True)
    valid = {}
    if sst_dev is not None:
        valid["sst2_dev"] = examples(sst_dev)
    if "valid" in ed:
        valid["ed_situations_valid"] = examples(ed["valid"], situations=True)
    used = [f"{sst_train.corpus} train ({sst_train.path})", f"empatheticdialogues train situations ({ed['train'].path})"]
    return train, valid, {"train": used, "train_examples": len(train), "validation": {k: len(v) for k, v in valid.items()}}


def user_turn_labels(path: str | Path) -> dict[tuple[str, str, str], list[float | None]]:
    """Read a labels file: ``{(corpus, split, dialogue id): P(positive) per turn, None for system turns}``."""
    labels = {}
    for number, line in read_lines(path):  # a byte that is not UTF-8 is an error naming its line too
        try:
            row = json.loads(line)
            positive, key = row["positive"], (row["corpus"], row["split"], row["dialogue"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{path}, line {number}: not a HappyBot labels row ({e})") from None
        if not isinstance(positive, list) or not all(p is None or (_is_score(p) and 0 <= p <= 1) for p in positive):
            raise ValueError(f"{path}, line {number}: field positive must be a list of probabilities in [0, 1] (null for system turns)")
        if key in labels:  # which of the two rows was meant cannot be told
            raise ValueError(f"{path}, line {number}: a second row for {' '.join(map(str, key))}")
        labels[key] = positive
    return labels


def _is_score(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def lookahead_examples(corpus: DialogueCorpus, labels: dict, corpus_name: str) -> Iterable[LabelledText]:
    """``[u_i; s_i]`` -> the label of ``u_i+1``, for every labelled next user turn. A dialogue the
    labels do not cover is counted in ``corpus.skipped``; if they cover none, they are another corpus's."""
    unlabelled = 0
    for dialogue in corpus.dialogues:
        positive = labels.get((corpus_name, corpus.split, dialogue.id))
        if positive is None:
            unlabelled += 1
            corpus.skipped.add("no labels", dialogue.id)
            continue
        if len(positive) != len(dialogue.turns):
            raise ValueError(
                f"labels for {corpus_name} {corpus.split} {dialogue.id} cover {len(positive)} turns, "
                f"the dialogue has {len(dialogue.turns)}: were they made from another copy of the corpus?"
            )
        for triple in policy_triples([dialogue]):
            p = positive[triple.response_turn + 1] if triple.next_user is not None else None
            if p is not None:
                yield LabelledText(triple.response, int(p >= 0.5), user=triple.user)
    if corpus.dialogues and unlabelled == len(corpus.dialogues):
        raise ValueError(
            f"the labels cover none of the {unlabelled} dialogues of {corpus_name} {corpus.split} ({corpus.source}): "
            "label this data folder with `train.py label`"
        )


def predictor_data(sources: list[Source], labels: dict) -> tuple[list[LabelledText], dict[str, list[LabelledText]], dict]:
    """``(train, validation sets, description)`` for the look-ahead predictor."""
    dialogues = dialogue_sources(sources)
    train, valid, used, skipped = [], {}, [], {}
    for source in training_sources(dialogues):
        corpus = source.read()
        examples = list(lookahead_examples(corpus, labels, source.corpus))
        train += examples
        used.append(f"{source.corpus} {source.split} ({source.path}): {len(examples)} examples")
        skipped[f"{source.corpus} {source.split}"] = corpus.skipped.as_dict()
    for source in held_out_sources(dialogues):
        corpus = source.read()
        if examples := list(lookahead_examples(corpus, labels, source.corpus)):
            valid[f"{source.corpus}_{source.split}"] = examples
        skipped[f"{source.corpus} {source.split}"] = corpus.skipped.as_dict()
    if not train:
        raise ValueError("no labelled look-ahead examples: are the labels from the same data directory?")
    if valid:
        valid["all_validation"] = [e for examples in list(valid.values()) for e in examples]
    described = {"train": used, "train_examples": len(train), "validation": {k: len(v) for k, v in valid.items()}}
    return train, valid, described | {"skipped_dialogues": {k: v for k, v in skipped.items() if v}}
