"""VADER (Hutto & Gilbert, 2014): a lexicon and rules, no training. Scores the response alone."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .base import RewardModel


class VaderReward(RewardModel):
    """VADER's compound score of the response, rescaled from [-1, 1] to [0, 1].

    Emoji count by their English names (😀 "grinning face" is positive, 😢 "crying face" negative).
    The lexicon is English only: a response in another language, like an empty one, scores 0.5.
    """

    name = "vader"
    licences = ("vaderSentiment: MIT",)

    def __init__(self) -> None:
        self.analyzer = SentimentIntensityAnalyzer()

    def score(self, users: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        return torch.tensor([(self.analyzer.polarity_scores(r)["compound"] + 1) / 2 for r in responses])
