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

from happybot_env.data import USER, Source

from .base import RewardModel


def label_user_turns(sources: Iterable[Source], classifier: RewardModel, out: str | Path, quiet: bool = False) -> dict:
    """Score each user turn alone with ``classifier``; write the labels file; return counts per split."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    counts = {}
    with open(tmp, "w", encoding="utf-8") as f:
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
                positive = [round(next(it), 4) if t.role == USER else None for t in d.turns]
                f.write(json.dumps({"corpus": source.corpus, "split": source.split, "dialogue": d.id, "positive": positive}) + "\n")
            positives = sum(s >= 0.5 for s in scores)
            counts[f"{source.corpus}/{source.split}"] = {"user_turns": len(scores), "positive": positives}
    tmp.replace(out)
    return counts
