"""Argument checks shared by the benchmark scripts, so that a bad value is refused by the parser, not
met as a division by zero or a torch error after minutes of loading."""

from __future__ import annotations

import argparse
from pathlib import Path

import reward_models
from reward_models.bert import resolve_device


def positive_int(text: str) -> int:
    """Counts of steps, updates, pairs, environments and repeats: below 1 there is nothing to time."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def reward_model_name(text: str) -> str:
    """A registered reward model or a folder; checked before any model loads."""
    try:
        return reward_models.check_spec(text)
    except reward_models.UnknownRewardModel as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def device_name(text: str) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``: one that is not here is refused before anything loads."""
    try:
        resolve_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def data_folder(text: str) -> Path:
    """A data folder that exists."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"no folder at {text}")
    return Path(text)


def corpus_name(text: str) -> str:
    """``default`` (the built-in corpus) or a data folder that exists."""
    return text if text == "default" else str(data_folder(text))
