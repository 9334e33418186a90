"""Training checkpoints that survive a kill and resume exactly.

A checkpoint holds the model, the optimizer, the step, the RNG states and whatever else a stage
passes (the REINFORCE baseline, a fine-tune's schedule and batch order), as tensors and plain
values: it is written with ``torch.save`` and read with ``torch.load(weights_only=True)``, which
cannot run code. It is written to a temporary file in the same folder, flushed to disk and renamed
over the previous one, so a SIGKILL or a full disk at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_file

FORMAT = "happybot-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be resumed from: the message says which file and why."""


def rng_state() -> dict[str, Any]:
    version, words, gauss_next = random.getstate()  # gauss_next: the second of the pair random.gauss draws
    state = {"torch": torch.get_rng_state(), "python": list(words), "python_gauss_next": gauss_next}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), state.get("python_gauss_next")))  # older checkpoints lack it
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, step: int, config: dict, **state: Any) -> None:
    """Atomically replace ``path`` with the training state at ``step``."""
    payload = {"format": FORMAT, "step": step, "config": config, "rng": rng_state(), **state}
    with atomic_file(path) as f:
        torch.save(payload, f)


def checkpoint_seconds(path: str | Path) -> float:
    """The seconds of training a checkpoint's stage had spent when it was written, over every run
    that led to it; 0 for a checkpoint that does not say (one written before HappyBot recorded it)."""
    # memory-mapped: the tensors (166 MB for a paper-size policy) are never read, 0.012 s instead of 0.12
    payload = _load(path, mmap=True)
    return float(payload.get("seconds", 0.0)) if isinstance(payload, dict) else 0.0


def _load(path: str | Path, mmap: bool = False) -> Any:
    """``torch.load`` of a checkpoint, whose failures name the file (the pipeline reads a stage's seconds
    before the stage loads its checkpoint, so either may be the first to meet a damaged one)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint to resume from") from None
    except Exception as e:  # a truncated or foreign file: torch raises many kinds
        raise CheckpointError(f"{path} is corrupted or not a HappyBot checkpoint ({type(e).__name__}: {e})") from None


def checkpoint_step(path: str | Path) -> int:
    """The step a checkpoint was written at (memory-mapped, as ``checkpoint_seconds``)."""
    return int(_load_formatted(path, mmap=True)["step"])


def _load_formatted(path: str | Path, mmap: bool = False) -> dict[str, Any]:
    payload = _load(path, mmap)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} has format {found!r}, this HappyBot reads {FORMAT!r}")
    return payload


def load_checkpoint(path: str | Path, config: dict) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint`` for a run with the same ``config``."""
    path = Path(path)
    payload = _load_formatted(path)
    if payload["config"] != config:
        changed = sorted(k for k in set(config) | set(payload["config"]) if config.get(k) != payload["config"].get(k))
        raise CheckpointError(f"{path} was written with other settings ({', '.join(changed)}); resume with the same ones")
    return payload


def refuse_to_overwrite(path: str | Path) -> None:
    """A new run of a stage must not replace the checkpoint a stopped run of it left."""
    if Path(path).exists():
        raise CheckpointError(f"{path} exists: pass --resume to continue that run, or choose another --run")


def start_step(path: str | Path, config: dict, resume: bool, steps: int, restore: Callable[[dict], None]) -> tuple[int, float]:
    """The step a stage starts from and the seconds its earlier runs spent getting there.

    ``(0, 0.0)`` for a new run, which refuses to overwrite a checkpoint; when resuming, the
    checkpoint's, after ``restore`` has loaded its state and the RNGs are set back.
    """
    path = Path(path)
    if not resume:
        refuse_to_overwrite(path)
        return 0, 0.0
    payload = load_checkpoint(path, config)
    step = int(payload["step"])
    if step > steps:
        raise CheckpointError(f"{path} is at step {step}, past the {steps} steps asked for: ask for at least {step}")
    restore(payload)
    set_rng_state(payload["rng"])
    return step, float(payload.get("seconds", 0.0))
