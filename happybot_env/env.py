"""``HappyBot-v0``: write a dialogue response token by token; the reward model pays at the end."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.error import ResetNeeded

import reward_models
from reward_models import RewardModel

from .core import EpisodeBatch, scored_user_tokens
from .episodes import load_bank
from .tokenizer import load_tokenizer, uncut_ids

RewardSpec = str | Path | RewardModel | Callable


def observation_space(max_context_tokens: int, max_response_tokens: int, vocab_size: int) -> spaces.Dict:
    for name, size in (("max_context_tokens", max_context_tokens), ("max_response_tokens", max_response_tokens)):
        if size < 1:  # checked before any corpus or model loads
            raise ValueError(f"{name} must be at least 1, got {size}")
    return spaces.Dict(
        {
            "context": spaces.Box(0, vocab_size - 1, (max_context_tokens,), dtype=np.int64),
            "response": spaces.Box(0, vocab_size - 1, (max_response_tokens,), dtype=np.int64),
        }
    )


class HappyBotEnv(gym.Env):
    """
    ## Description

    The agent is the *system* side of a dialogue. It reads a context, the system's previous turn
    and the user's latest turn ``[s_i; u_i+1]``, and writes the next system turn ``s_i+1`` one
    WordPiece token at a time. When the response ends, a reward model scores how happy the user
    will be with it: by default the look-ahead predictor of the HappyBot paper (Shin et al., 2020),
    the probability that the user's *next* turn is positive.

    ## Action Space

    ``Discrete(30522)``: the id of the next token in the uncased WordPiece vocabulary of
    all-MiniLM-L6-v2, shared with the reward models. ``[SEP]`` (id 102) ends the response.

    ## Observation Space

    ``Dict(context=Box(int64, (max_context_tokens,)), response=Box(int64, (max_response_tokens,)))``
    of token ids, right-padded with ``[PAD]`` (id 0):

    | key | holds |
    |-----|-------|
    | context | ``s_i [SEP] u_i+1`` (or ``u_i+1`` alone), truncated from the left to fit |
    | response | the tokens written so far |

    Token ids rather than text keep the observation a fixed-shape array that any agent,
    stable-baselines3 included, can batch, and let the reward model read the response without
    decoding it.

    ## Rewards

    0 on every step but the last; on the last, the reward model's score of (user turn, response
    without its final ``[SEP]``), in [0, 1] for the built-in models. Special tokens in the response
    (``[PAD]``, ``[UNK]``, ``[CLS]``, ``[MASK]``) are dropped: the reward model scores the response
    that ``info["response_text"]`` shows. A reward model that shares the vocabulary scores the token
    ids without decoding them, which gives its score of the text when the response tokens are the
    normal tokenisation of that text; a response of odd WordPiece fragments (``##s great``, which
    re-tokenises as ``# # s great``) can score slightly differently from its text.
    A reward model that raises, or returns NaN, an infinity or the wrong shape, stops ``step()``
    with a ``RewardModelError`` that names it (an exception it raised is the error's ``__cause__``).

    ## Starting State

    A policy triple of the corpus's ``split``: the seed picks where the env starts, and its episodes
    then walk the whole split with a fixed stride, so that each triple comes once per pass (uniform
    over a pass, not independent draws). Or the context given in
    ``reset(options={"user": ..., "previous_system": ...})`` (``"user"`` required,
    ``"previous_system"`` optional, other keys refused), which takes no step of the walk. A user
    turn with no tokens (empty, blank or zero-width characters) is refused in ``options`` and
    skipped in a corpus: there is nothing to answer. ``info`` holds the texts:
    ``previous_system``, ``user``, ``gold_response`` and ``next_user`` (``None`` when unknown), and
    ``context_truncated``.

    ## Episode End

    Terminated when the agent emits ``[SEP]``; truncated when the response reaches
    ``max_response_tokens`` tokens.

    ## Arguments

    ```python
    gym.make("HappyBot-v0", reward_model="lookahead", corpus="default", split="train",
             max_context_tokens=64, max_response_tokens=20, render_mode=None, device="auto")
    ```

    - ``reward_model``: a registered name (``"lookahead"``, ``"current"``, ``"vader"``, your own), a
      folder holding a Hugging Face sequence-classification model, a ``RewardModel`` or a callable
      ``fn(users, responses) -> floats``. A model that reads token ids is handed the user turn's last
      ``max_length`` tokens (its attribute; 128 when it has none), as many as it reads from text.
    - ``corpus``: ``"default"`` (the built-in chit-chat corpus), a data directory (see the README), or
      a list of user turns to answer.
    - ``split``: which split of the corpus to sample contexts from.
    - ``render_mode``: ``"ansi"`` returns the dialogue as text, ``"human"`` prints it; with None,
      ``render()`` warns and returns None, as Gymnasium's environments do.
    - ``device``: where a reward model given by name or folder scores (``"auto"``: CUDA when
      available, in bf16). The episode itself stays on the CPU and observations are numpy arrays.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(
        self,
        reward_model: RewardSpec = "lookahead",
        corpus: str | Path | Sequence[str] = "default",
        split: str = "train",
        max_context_tokens: int = 64,
        max_response_tokens: int = 20,
        render_mode: str | None = None,
        device: str | torch.device = "auto",
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.tokenizer = load_tokenizer()
        self.action_space = spaces.Discrete(self.tokenizer.vocab_size)
        self.observation_space = observation_space(max_context_tokens, max_response_tokens, self.tokenizer.vocab_size)
        self.reward_model = reward_models.make(reward_model, device=device)
        self.batch = EpisodeBatch(
            load_bank(corpus, split, max_context_tokens, scored_user_tokens(self.reward_model)),
            1, max_response_tokens, self.reward_model, torch.device("cpu")
        )
        self._running = self._key_drawn = False
        self._last_reward: float | None = None
        self._info: dict[str, Any] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None or not self._key_drawn:
            self.batch.key[0] = episode_key(self.np_random)
            self.batch.counter[0] = 0
            self._key_drawn = True
        options = options or {}
        unknown = sorted(set(options) - {"user", "previous_system"})
        if unknown:
            raise ValueError(f"reset options are 'user' and 'previous_system'; unknown: {unknown}")
        for name in ("user", "previous_system"):
            if name in options and not isinstance(options[name], str):
                raise ValueError(f"reset option {name!r} must be a text (str), got {type(options[name]).__name__}")
        if "previous_system" in options and "user" not in options:
            raise ValueError("reset option 'previous_system' needs option 'user': the user turn that answers it")
        if "user" in options and not uncut_ids([options["user"]])[0]:
            # without a system turn its context would be all padding, which the policy's attention cannot read
            raise ValueError(f"reset option 'user' {options['user']!r} has no tokens: give a user turn to answer")
        if "user" in options:
            self.batch.start_with(0, options.get("previous_system", ""), options["user"])
        else:
            self.batch.start(torch.ones(1, dtype=torch.bool))
        self._running = True
        self._last_reward = None
        self._info = self.batch.episode_texts(0)
        if self.render_mode == "human":
            self.render()
        return self._observation(), dict(self._info)

    def step(self, action):
        if not self._running:
            raise ResetNeeded("call reset() before step(), and again after the episode ends")
        if np.ndim(action) != 0 or not np.issubdtype(np.asarray(action).dtype, np.integer):
            raise ValueError(f"action must be one token id (an integer), got {action!r}")
        actions = torch.as_tensor([int(action)])
        self.batch.check_actions(actions)
        rewards, terminated, truncated = self.batch.advance(actions, torch.ones(1, dtype=torch.bool))
        terminated, truncated = bool(terminated[0]), bool(truncated[0])
        info = dict(self._info)
        if terminated or truncated:
            self._running = False
            self._last_reward = float(rewards[0])
            info["response_text"] = self.response_text()
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(rewards[0]), terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode is None:  # as Gymnasium's own environments do
            gym.logger.warn('render() was called without a render mode: make the env with render_mode="ansi" or "human"')
            return None
        if self._info is None:
            raise ResetNeeded("call reset() before render(): there is no dialogue to show yet")
        lines = []
        if self._info.get("previous_system"):
            lines.append(f"SYSTEM: {self._info['previous_system']}")
        lines.append(f"USER:   {self._info.get('user', '')}")
        lines.append(f"AGENT:  {self.response_text()}")
        if self._last_reward is not None:
            lines.append(f"reward ({self.reward_model.name}): {self._last_reward:.3f}")
        text = "\n".join(lines)
        if self.render_mode == "human":
            print(text + "\n")
            return None
        return text

    def response_text(self) -> str:
        """The response written so far, as text."""
        length = int(self.batch.length[0])
        return self.tokenizer.decode(self.batch.response[0, :length], skip_special_tokens=True)

    def _observation(self) -> dict[str, np.ndarray]:
        return {"context": self.batch.context[0].numpy().copy(), "response": self.batch.response[0].numpy().copy()}



def episode_key(np_random: np.random.Generator) -> int:
    """The sampling key of an env, drawn from its seeded generator."""
    return int(np_random.integers(0, 2**31 - 1))

