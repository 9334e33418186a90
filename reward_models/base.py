"""What a reward model is: a batch of (user turn, response) pairs in, one float per pair out.

Higher means a happier user. Built-in models return the probability of positive sentiment, in
[0, 1]. Every score that leaves a reward model is checked here, so a plugin that returns NaN, an
infinity or the wrong number of scores fails with an error that names it, before the bad value
reaches a policy gradient.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch


class RewardModelError(RuntimeError):
    """A reward model failed or returned unusable scores; the message names the model."""


@contextlib.contextmanager
def failures_named(name: str) -> Iterator[None]:
    """Re-raise an exception from inside reward model ``name`` as a ``RewardModelError`` naming it.

    The original stays the error's ``__cause__``, with its traceback; a ``RewardModelError``, which
    names its model already, passes through unchanged.
    """
    try:
        yield
    except RewardModelError:
        raise
    except Exception as e:
        raise RewardModelError(f"reward model {name!r} failed: {type(e).__name__}: {e}") from e


class RewardModel(abc.ABC):
    name: str = "reward model"
    licences: tuple[str, ...] = ()
    """The licences of the model and of the data it learned from, where known: a model trained on
    labels this one makes inherits them."""

    @abc.abstractmethod
    def score(self, users: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """One score per (user turn, response) pair, as a float tensor of shape ``(len(users),)``."""

    def __call__(self, users: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        if len(users) != len(responses):
            raise ValueError(f"{len(users)} user turns but {len(responses)} responses")
        return check_scores(self.score(list(users), list(responses)), len(users), self.name)

    @property
    def accepts_token_ids(self) -> bool:
        """Whether ``score_token_ids`` works: the model reads HappyBot's shared WordPiece ids."""
        return False

    def score_token_ids(self, user_ids: torch.Tensor, response_ids: torch.Tensor) -> torch.Tensor:
        """Score right-padded token ids in the shared vocabulary, without special tokens (fast path)."""
        raise NotImplementedError(f"{self.name} scores text only")


def check_scores(scores: Any, expected: int, name: str) -> torch.Tensor:
    """Turn a model's output into a float32 tensor of shape ``(expected,)``, or raise naming the model.

    Strings are refused even when they read as numbers: a plugin that returns ``"0.5"`` has a bug.
    """
    if torch.is_tensor(scores):
        tensor = scores.detach().float()  # a reward is a constant to the agent; numpy consumers cannot take a graph
    else:
        try:
            array = np.asarray(scores)
        except (TypeError, ValueError) as e:
            raise RewardModelError(f"reward model {name!r} returned {type(scores).__name__}, not numbers: {e}") from None
        if array.dtype.kind not in "biuf":  # booleans, integers and floats
            kinds = ", ".join(sorted({type(value).__name__ for value in array.ravel().tolist()}))
            raise RewardModelError(f"reward model {name!r} returned {type(scores).__name__} of {kinds}, not numbers")
        tensor = torch.tensor(array, dtype=torch.float32)
    if tensor.shape != (expected,):
        raise RewardModelError(
            f"reward model {name!r} returned shape {tuple(tensor.shape)} for {expected} pairs, expected ({expected},)"
        )
    if not torch.isfinite(tensor).all():
        bad = (~torch.isfinite(tensor)).nonzero().flatten()[:5].tolist()
        raise RewardModelError(f"reward model {name!r} returned NaN or infinite scores (first at pairs {bad})")
    return tensor


class CallableReward(RewardModel):
    """A plain Python callable ``fn(users, responses) -> sequence of floats`` as a reward model."""

    def __init__(self, fn: Callable[[list[str], list[str]], Sequence[float]], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", repr(fn))

    def score(self, users: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        with failures_named(self.name):
            return self.fn(list(users), list(responses))
