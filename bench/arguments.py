"""Argument checks shared by the benchmark scripts, so that a bad value is refused by the parser, not
met as a division by zero or a torch error after minutes of loading."""

from __future__ import annotations

import argparse
from pathlib import Path

import reward_models


def positive_int(text: str) -> int:
    """Counts of steps, updates, pairs, environments and repeats: below 1 there is nothing to time."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def reward_model_name(text: str) -> str:
    """A registered reward model or a folder; checked before any model loads."""
    if text not in reward_models.registered() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(
            f"unknown reward model {text!r}: registered names are {', '.join(reward_models.registered())}, or give a model folder"
        )
    return text
