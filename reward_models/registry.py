"""Reward models by name: ``make("lookahead")``, ``make("path/to/model")``, ``register("mine", fn)``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path

from .base import CallableReward, RewardModel

ARTIFACTS = Path(__file__).parent / "artifacts"

_registry: dict[str, Callable[..., RewardModel]] = {}


class UnknownRewardModel(KeyError):
    """``make`` was given neither a registered name nor a model folder."""

    def __str__(self) -> str:  # KeyError's own would print the message in quotes
        return str(self.args[0])


def register(
    name: str,
    reward: RewardModel | Callable | None = None,
    *,
    factory: Callable[..., RewardModel] | None = None,
    overwrite: bool = False,
) -> None:
    """Register a reward model under ``name``.

    ``reward`` is a ``RewardModel`` or a plain callable ``fn(users, responses) -> floats``;
    ``factory`` instead builds a ``RewardModel`` when ``make`` is called, with the keywords given to
    ``make`` (``device`` only if the factory has a ``device`` parameter or ``**kwargs``).
    """
    if (reward is None) == (factory is None):
        raise TypeError("give exactly one of reward= or factory=")
    if reward is not None:
        _refuse_a_class(reward, f"register({name!r}, ...)")
        if not callable(reward):  # a RewardModel is callable too; an alias ("current") would fail at the first score
            raise TypeError(f"register({name!r}, ...) was given {type(reward).__name__} {reward!r}: "
                            "give a RewardModel or a callable fn(users, responses) -> floats")
    if name in _registry and not overwrite:
        raise ValueError(f"a reward model named {name!r} is already registered (pass overwrite=True to replace it)")
    if factory is None:
        model = reward if isinstance(reward, RewardModel) else CallableReward(reward, name=name)
        factory = lambda: model  # noqa: E731 - a registered instance is shared, like a constant
    _registry[name] = factory


def registered() -> list[str]:
    return sorted(_registry)


def make(spec: str | Path | RewardModel | Callable, **kwargs) -> RewardModel:
    """A reward model from a registered name, a model folder, a ``RewardModel`` or a callable.

    Every reward model accepts ``device=`` ("auto", "cpu", "cuda:1", ...): the BERT models score
    there. A reward model that the user's own code builds (an instance, a plain callable on text, a
    factory without a ``device`` parameter) ignores it, as does VADER, a lexicon. Any other keyword
    the model does not take is a TypeError that names the model.
    """
    if isinstance(spec, RewardModel):
        return _build(spec.name, lambda: spec, kwargs)
    if isinstance(spec, str) and not spec.strip():  # as a path, "" is the working directory
        raise _unknown(spec)
    _refuse_a_class(spec, "make(...)")
    if isinstance(spec, str) and spec in _registry:
        return _build(spec, _registry[spec], kwargs)
    if isinstance(spec, (str, Path)) and Path(spec).is_dir():
        from .bert import SequenceClassifierReward

        return _build(str(spec), functools.partial(SequenceClassifierReward.from_pretrained, spec), kwargs)
    if callable(spec) and not isinstance(spec, (str, Path)):
        model = CallableReward(spec)
        return _build(model.name, lambda: model, kwargs)
    raise _unknown(spec)


def check_spec(spec: str) -> str:
    """``spec``, if it is a registered name or a model folder; else the error ``make`` would raise.
    Command lines call it to refuse a bad ``--reward`` before anything loads."""
    if spec.strip() and (spec in _registry or Path(spec).is_dir()):
        return spec
    raise _unknown(spec)


def _unknown(spec: str | Path | Callable) -> UnknownRewardModel:
    text = str(spec)
    if isinstance(spec, str) and not text.strip():
        return UnknownRewardModel(f"an empty reward model name: registered names are {', '.join(registered())}")
    looks_like_a_path = isinstance(spec, Path) or "/" in text or "\\" in text
    return UnknownRewardModel(
        (f"no reward model folder at {text}" if looks_like_a_path else f"unknown reward model {text!r}")
        + f": registered names are {', '.join(registered())}; "
        "a folder holding a Hugging Face sequence-classification model or a callable work too"
    )


def _refuse_a_class(reward, where: str) -> None:
    """A RewardModel class is callable, but calling it on (users, responses) would build one, not score."""
    if isinstance(reward, type) and issubclass(reward, RewardModel):
        raise TypeError(f"{where} was given the class {reward.__name__}: give an instance, {reward.__name__}(), or factory={reward.__name__}")


def _build(name: str, factory: Callable[..., RewardModel], kwargs: dict) -> RewardModel:
    """Call ``factory`` with ``kwargs``, less ``device`` if it takes none; refuse others it does not take, naming ``name``."""
    parameters = inspect.signature(factory).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        takes = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        unknown = sorted(set(kwargs) - takes - {"device"})
        if unknown:
            raise TypeError(
                f"reward model {name!r} takes no keyword {', '.join(unknown)}; it takes: {', '.join(sorted(takes | {'device'}))}"
            )
        kwargs = {key: value for key, value in kwargs.items() if key in takes}
    return factory(**kwargs)


def _shipped(name: str) -> Callable[..., RewardModel]:
    def factory(**kwargs) -> RewardModel:
        from .bert import SequenceClassifierReward

        return _build(name, functools.partial(SequenceClassifierReward.from_pretrained, ARTIFACTS / name, name=name), kwargs)

    return factory


def _vader() -> RewardModel:
    from .vader import VaderReward

    return VaderReward()


register("current", factory=_shipped("current"))
register("lookahead", factory=_shipped("lookahead"))
register("vader", factory=_vader)
