"""Policy training data: contexts, gold responses and (for MultiSeq) emotion labels, as tensors.

Contexts and gold responses are encoded exactly as ``HappyBot-v0`` encodes them (the same episode
bank), so what the policy learns by MLE is what it later reads and writes in the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from happybot_env.data.dailydialog import EMOTIONS as DAILYDIALOG_EMOTIONS
from happybot_env.data.emotions import ED_EMOTION_SENTIMENT
from happybot_env.episodes import load_bank

# MultiSeq's emotion classes: ED's 32 and DailyDialog's 7 (the paper's corpora), then the three
# VADER classes that stand in for emotions on the built-in corpus, which has none.
EMOTION_CLASSES = (
    *sorted(ED_EMOTION_SENTIMENT),
    *(f"dailydialog:{e}" for e in DAILYDIALOG_EMOTIONS.values()),
    "vader:negative",
    "vader:neutral",
    "vader:positive",
)
IGNORE = -100


@dataclass
class PolicyData:
    context: torch.Tensor
    """``(M, max_context_tokens)`` token ids."""
    gold: torch.Tensor
    """``(M, max_response_tokens)`` gold response ids followed by ``[SEP]`` (truncated to fit)."""
    emotion: torch.Tensor
    """``(M,)`` index into ``EMOTION_CLASSES``, or -100 where the example has no label."""
    users: list[str]
    responses: list[str]

    def __len__(self) -> int:
        return len(self.context)

    def head(self, n: int) -> PolicyData:
        """The first ``n`` examples."""
        return PolicyData(self.context[:n], self.gold[:n], self.emotion[:n], self.users[:n], self.responses[:n])


def _emotion_label(emotion: str | None, user: str, analyzer: SentimentIntensityAnalyzer | None) -> int:
    if emotion in ED_EMOTION_SENTIMENT:
        return EMOTION_CLASSES.index(emotion)
    if emotion is not None:
        return EMOTION_CLASSES.index(f"dailydialog:{emotion}")
    if analyzer is None:
        return IGNORE
    compound = analyzer.polarity_scores(user)["compound"]
    return EMOTION_CLASSES.index("vader:" + ("positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"))


def load_policy_data(corpus: str | Path, split: str, max_context_tokens: int, max_response_tokens: int) -> PolicyData:
    """The triples of ``split`` that have a gold response, with emotion labels (VADER classes on the default corpus)."""
    bank = load_bank(corpus, split, max_context_tokens)
    has_gold = bank.gold_ids[:, 0] != 0
    analyzer = SentimentIntensityAnalyzer() if str(corpus) == "default" else None
    triples = [t for t, keep in zip(bank.triples, has_gold.tolist()) if keep]
    emotions = torch.tensor([_emotion_label(t.emotion, t.user, analyzer) for t in triples], dtype=torch.long)
    return PolicyData(
        bank.context_ids[has_gold], bank.gold_ids[has_gold, :max_response_tokens], emotions,
        [t.user for t in triples], [t.response for t in triples],
    )
