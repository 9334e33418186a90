"""Reward models by name: ``make("lookahead")``, ``make("path/to/model")``, ``register("mine", fn)``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .base import CallableReward, RewardModel

ARTIFACTS = Path(__file__).parent / "artifacts"

_registry: dict[str, Callable[..., RewardModel]] = {}


def register(
    name: str,
    reward: RewardModel | Callable | None = None,
    *,
    factory: Callable[..., RewardModel] | None = None,
    overwrite: bool = False,
) -> None:
    """Register a reward model under ``name``.

    ``reward`` is a ``RewardModel`` or a plain callable ``fn(users, responses) -> floats``;
    ``factory`` instead builds a ``RewardModel`` when ``make`` is called (keywords pass through).
    """
    if (reward is None) == (factory is None):
        raise TypeError("give exactly one of reward= or factory=")
    if name in _registry and not overwrite:
        raise ValueError(f"a reward model named {name!r} is already registered (pass overwrite=True to replace it)")
    if factory is None:
        model = reward if isinstance(reward, RewardModel) else CallableReward(reward, name=name)
        factory = lambda: model  # noqa: E731 - a registered instance is shared, like a constant
    _registry[name] = factory


def registered() -> list[str]:
    return sorted(_registry)


def make(spec: str | Path | RewardModel | Callable, **kwargs) -> RewardModel:
    """A reward model from a registered name, a model folder, a ``RewardModel`` or a callable."""
    if isinstance(spec, RewardModel):
        return spec
    if isinstance(spec, str) and spec in _registry:
        return _registry[spec](**kwargs)
    if isinstance(spec, (str, Path)) and Path(spec).is_dir():
        from .bert import SequenceClassifierReward

        return SequenceClassifierReward.from_pretrained(spec, **kwargs)
    if callable(spec) and not isinstance(spec, (str, Path)):
        return CallableReward(spec)
    raise KeyError(
        f"unknown reward model {str(spec)!r}: registered names are {', '.join(registered())}; "
        "a folder holding a Hugging Face sequence-classification model or a callable work too"
    )


def _shipped(name: str) -> Callable[..., RewardModel]:
    def factory(**kwargs) -> RewardModel:
        from .bert import SequenceClassifierReward

        kwargs.setdefault("name", name)
        return SequenceClassifierReward.from_pretrained(ARTIFACTS / name, **kwargs)

    return factory


def _vader(**kwargs) -> RewardModel:
    from .vader import VaderReward

    return VaderReward(**kwargs)


register("current", factory=_shipped("current"))
register("lookahead", factory=_shipped("lookahead"))
register("vader", factory=_vader)
