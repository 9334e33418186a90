"""``HappyBotVectorEnv``: N HappyBot episodes as tensors on one device, stepped without a Python loop."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

import reward_models
from reward_models.bert import resolve_device

from .core import EpisodeBatch, scored_user_tokens
from .env import RewardSpec, episode_key, observation_space
from .episodes import load_bank
from .tokenizer import load_tokenizer


class HappyBotVectorEnv(VectorEnv):
    """``num_envs`` copies of ``HappyBot-v0`` held as torch tensors on ``device``.

    Observations, rewards, terminations and truncations are torch tensors on ``device`` and actions
    may be a tensor there (or anything ``torch.as_tensor`` takes). Every episode that ends on a step
    is scored in one batched reward-model call, on token ids when the reward model shares the
    vocabulary. Sub-environment ``i`` seeded with ``seed + i`` draws the same contexts as a
    ``HappyBotEnv`` reset with that seed, so the two give the same episodes for the same actions.

    Autoreset is Gymnasium's default, next-step: on the step after an episode ends, that
    sub-environment starts a new episode, ignores its action and returns reward 0.

    For numpy arrays instead of tensors, wrap it with Gymnasium's array conversion::

        from gymnasium.wrappers.vector import ArrayConversion
        envs = ArrayConversion(HappyBotVectorEnv(64), env_xp=torch, target_xp=np)

    Arguments are those of ``HappyBotEnv`` plus ``num_envs`` and ``device`` (``"auto"``: CUDA when
    available); a reward model given by name or folder scores on that device too. ``infos`` follows
    Gymnasium's vector convention: ``infos["context_truncated"]``, a bool tensor, says whether the
    context of an episode that starts (on ``reset``, or on the step that autoresets it) lost tokens
    on the left, for the sub-environments that ``infos["_context_truncated"]`` marks; on a step where
    no episode starts, neither key is there. The texts of an episode are in
    ``episode_texts(i)``.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        reward_model: RewardSpec = "lookahead",
        corpus: str | Path | Sequence[str] = "default",
        split: str = "train",
        max_context_tokens: int = 64,
        max_response_tokens: int = 20,
        device: str | torch.device = "auto",
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.device = resolve_device(device)
        self.num_envs = num_envs
        vocab_size = load_tokenizer().vocab_size
        self.single_action_space = spaces.Discrete(vocab_size)
        self.single_observation_space = observation_space(max_context_tokens, max_response_tokens, vocab_size)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.reward_model = reward_models.make(reward_model, device=self.device)
        self.batch = EpisodeBatch(
            load_bank(corpus, split, max_context_tokens, scored_user_tokens(self.reward_model)),
            num_envs, max_response_tokens, self.reward_model, self.device
        )
        self._ended = torch.zeros(num_envs, dtype=torch.bool, device=self.device)
        self._started = self._keys_drawn = False

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None):
        if options:
            raise ValueError("HappyBotVectorEnv.reset takes no options; give contexts through corpus=")
        seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
        if seeds is not None:
            if len(seeds) != self.num_envs:
                raise ValueError(f"{len(seeds)} seeds for {self.num_envs} environments")
            self._np_random, self._np_random_seed = seeding.np_random(seeds[0])
            # the same key HappyBotEnv draws from its generator when reset with that seed
            keys = [episode_key(seeding.np_random(s)[0]) for s in seeds]
            self.batch.key[:] = torch.tensor(keys, device=self.device)
            self.batch.counter.zero_()
        elif not self._keys_drawn:
            self.batch.key[:] = torch.as_tensor(self.np_random.integers(0, 2**31 - 1, self.num_envs), device=self.device)
        self.batch.start(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        self._ended.zero_()
        self._started = self._keys_drawn = True
        return self._observation(), self._started_info(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))

    def step(self, actions):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = torch.as_tensor(actions, device=self.device)
        if actions.is_floating_point() or actions.is_complex() or actions.dtype == torch.bool:
            raise ValueError(f"actions must be token ids (integers), got {actions.dtype}")  # .long() would truncate 2000.9 to 2000
        actions = actions.long().reshape(-1)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"expected {self.num_envs} actions, got shape {tuple(actions.shape)}")
        self.batch.check_actions(actions)
        restarting = self._ended
        rewards, terminated, truncated = self.batch.advance(actions, ~restarting)
        info = {}
        if restarting.any():
            self.batch.start(restarting)
            info = self._started_info(restarting)
        self._ended = terminated | truncated
        return self._observation(), rewards, terminated, truncated, info

    def sampling_state(self) -> dict[str, torch.Tensor]:
        """Which contexts the next episodes will draw: save it with a checkpoint to resume exactly."""
        return {"key": self.batch.key.cpu(), "counter": self.batch.counter.cpu()}

    def load_sampling_state(self, state: dict[str, torch.Tensor]) -> None:
        for name in ("key", "counter"):
            if tuple(state[name].shape) != (self.num_envs,):  # copy_ would broadcast one env's state to all
                raise ValueError(f"a sampling state for {tuple(state[name].shape)} envs ({name}), this vector env has {self.num_envs}")
        self.batch.key.copy_(state["key"])
        self.batch.counter.copy_(state["counter"])
        self._keys_drawn = True  # the next reset() keeps them; stepping still needs that reset

    @property
    def max_response_tokens(self) -> int:
        return self.batch.max_response_tokens

    def gold_responses(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids, known)``: each current episode's gold response (then ``[SEP]``) as right-padded ids
        ``(N, min(max_response_tokens, 64))``, and whether the corpus gives one.

        The bank keeps a gold response's first 64 tokens (``MAX_GOLD_TOKENS``), as the supervised
        policy data does, so both stages teach the same targets; a longer width would be padding only.
        """
        return self.batch.gold.clone(), self.batch.gold[:, 0] != self.batch.pad_id

    def episode_texts(self, env: int) -> dict[str, Any]:
        """The texts of sub-environment ``env``'s current episode (as ``HappyBotEnv`` puts in ``info``)."""
        return self.batch.episode_texts(env)

    def _started_info(self, started: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"context_truncated": self.batch.context_truncated.bool() & started, "_context_truncated": started}

    def _observation(self) -> dict[str, torch.Tensor]:
        return {"context": self.batch.context.clone(), "response": self.batch.response.clone()}
