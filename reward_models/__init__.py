"""Reward models: how happy the user will be with a response, one float per (user turn, response).

    >>> import reward_models
    >>> lookahead = reward_models.make("lookahead")       # P(the user's next turn is positive)
    >>> lookahead(["I failed my exam."], ["I'm sorry, that's hard. Want to talk about it?"])

Built in: ``current`` (a sentiment classifier on the response), ``lookahead`` (the look-ahead
predictor on ``[user; response]``), ``vader`` (a lexicon); a folder holding a Hugging Face
sequence-classification model, by path; and anything registered with ``register``.
"""

from .base import CallableReward, RewardModel, RewardModelError, check_scores, failures_named
from .registry import UnknownRewardModel, check_spec, make, register, registered

__all__ = ["CallableReward", "RewardModel", "RewardModelError", "check_scores", "failures_named", "UnknownRewardModel", "check_spec", "make", "register", "registered"]
