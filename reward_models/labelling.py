"""Label every user turn of the dialogue corpora with a sentiment classifier (or VADER).

The output is a JSON-lines file, one row per dialogue:
``{"corpus", "split", "dialogue", "positive": [P(positive) per turn, null for system turns]}``.
The look-ahead predictor learns to predict these labels one turn ahead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from tqdm.auto import tqdm

from happybot_env.atomic import atomic_file
from happybot_env.data import USER, Source

from .base import RewardModel


def label_user_turns(sources: Iterable[Source], classifier: RewardModel, out: str | Path, quiet: bool = False) -> dict:
    """Score each user turn alone with ``classifier``; write the labels file; return counts per split."""
    counts = {}
    with atomic_file(out) as f:
        for source in sources:
            corpus = source.read()
            texts = [t.text for d in corpus.dialogues for t in d.turns if t.role == USER]
            scores = []
            chunk = 1024
            for start in tqdm(range(0, len(texts), chunk), desc=f"label {source.corpus} {source.split}", disable=quiet):
                batch = texts[start : start + chunk]
                scores += classifier([""] * len(batch), batch).tolist()
            it = iter(scores)
            for d in corpus.dialogues:
                # unrounded: rounding would move scores just under 0.5 to the positive side of the threshold
                positive = [next(it) if t.role == USER else None for t in d.turns]
                row = {"corpus": source.corpus, "split": source.split, "dialogue": d.id, "positive": positive}
                f.write((json.dumps(row) + "\n").encode())
            positives = sum(s >= 0.5 for s in scores)
            counts[f"{source.corpus}/{source.split}"] = {"user_turns": len(scores), "positive": positives}
    return counts
