"""The state and transitions of a batch of HappyBot episodes, as tensors on one device.

``HappyBotEnv`` runs a batch of one and ``HappyBotVectorEnv`` a batch of N, through this same
code, so the two agree by construction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from reward_models import RewardModel, check_scores, failures_named

from .data import PolicyExample
from .episodes import MAX_USER_TOKENS, EpisodeBank, encode_contexts, episode_index, row_views, triples_from_texts
from .tokenizer import load_tokenizer


def compact_right(ids: torch.Tensor, keep: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Move the kept tokens of each row to its start, in order, and pad the rest (no Python loop)."""
    order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices
    return torch.where(keep.gather(1, order), ids.gather(1, order), pad_id)


def scored_user_tokens(reward_model: RewardModel) -> int:
    """How many of the user turn's last tokens the token-id fast path hands ``reward_model``.

    As many as it reads from text (its ``max_length``), so that both paths score the same user turn;
    ``MAX_USER_TOKENS`` for a model that has no ``max_length`` or scores text only.
    """
    max_length = getattr(reward_model, "max_length", None)
    return max_length if reward_model.accepts_token_ids and isinstance(max_length, int) else MAX_USER_TOKENS


class EpisodeBatch:
    def __init__(
        self, bank: EpisodeBank, num_envs: int, max_response_tokens: int, reward_model: RewardModel, device: torch.device
    ) -> None:
        tokenizer = load_tokenizer()
        self.bank = bank.to(device)
        self.reward_model = reward_model
        self.device = device
        self.sep_id, self.pad_id = tokenizer.sep_token_id, tokenizer.pad_token_id
        self.vocab_size = tokenizer.vocab_size
        # the response shown in info and scored through text skips special tokens, so the ids scored
        # must skip them too; a lookup table indexed by the ids does that for the whole batch at once
        self.special = torch.zeros(tokenizer.vocab_size, dtype=torch.bool, device=device)
        self.special[tokenizer.all_special_ids] = True
        self.max_response_tokens = max_response_tokens
        n = num_envs
        self.key = torch.zeros(n, dtype=torch.long, device=device)
        self.counter = torch.zeros(n, dtype=torch.long, device=device)
        self.index = torch.zeros(n, dtype=torch.long, device=device)
        # each env's row of the bank, whose views below are the context, user turn and gold response
        self.episode = torch.zeros((n, bank.rows.shape[1]), dtype=torch.long, device=device)
        self.context, self.user, gold, self.context_truncated = row_views(self.episode, bank.user_tokens)
        self.gold = gold[:, :max_response_tokens]
        self.response = torch.zeros((n, max_response_tokens), dtype=torch.long, device=device)
        self.length = torch.zeros(n, dtype=torch.long, device=device)
        self.given: dict[int, PolicyExample] = {}  # contexts given through reset options, by env

    def start(self, mask: torch.Tensor) -> None:
        """Begin a new episode in every env where ``mask`` is true, drawing its context from the bank.

        Whole-batch ``torch.where`` updates rather than boolean indexing: no host synchronisation.
        """
        drawn = episode_index(self.key, self.counter, len(self.bank))
        self.index = torch.where(mask, drawn, self.index)
        self.counter += mask.long()
        rows = mask.unsqueeze(1)
        self.episode.copy_(torch.where(rows, self.bank.rows.index_select(0, self.index), self.episode))
        self.response.masked_fill_(rows, self.pad_id)
        self.length.masked_fill_(mask, 0)
        if self.given:
            for env in mask.nonzero().flatten().tolist():
                self.given.pop(env, None)

    def start_with(self, env: int, previous_system: str, user: str) -> None:
        """Begin an episode in ``env`` on a given context rather than a sampled one."""
        (triple,) = triples_from_texts([user])
        self.given[env] = replace(triple, previous_system=previous_system)
        context, truncated, user_ids = encode_contexts([previous_system], [user], self.context.shape[1], self.user.shape[1])
        self.index[env] = -1
        self.episode[env] = self.pad_id
        self.context[env] = context[0].to(self.device)
        self.user[env] = user_ids[0].to(self.device)
        self.context_truncated[env] = int(truncated[0])
        self.response[env] = self.pad_id
        self.length[env] = 0

    def check_actions(self, actions: torch.Tensor) -> None:
        bad = (actions < 0) | (actions >= self.vocab_size)
        if bad.any():
            env = int(bad.nonzero()[0])
            raise ValueError(f"action {int(actions[env])} for env {env} is outside the vocabulary [0, {self.vocab_size})")

    def advance(self, actions: torch.Tensor, active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Append each active env's token; return ``(rewards, terminated, truncated)``.

        An episode terminates when the agent emits ``[SEP]`` and is truncated when the response
        reaches ``max_response_tokens``; every episode that ends on this step is scored in one call.
        """
        slot = self.length.clamp(max=self.max_response_tokens - 1).unsqueeze(1)
        written = torch.where(active, actions, self.response.gather(1, slot).squeeze(1))
        self.response.scatter_(1, slot, written.unsqueeze(1))
        self.length += active.long()
        terminated = active & (actions == self.sep_id)
        truncated = active & ~terminated & (self.length >= self.max_response_tokens)
        rewards = torch.zeros(len(actions), dtype=torch.float32, device=self.device)
        done = terminated | truncated
        if done.any():
            rewards[done] = self.score(done)
        return rewards, terminated, truncated

    def response_tokens(self, envs: torch.Tensor) -> torch.Tensor:
        """The responses of ``envs`` as right-padded ids without special tokens (the final ``[SEP]``
        included), as the decoded ``response_text`` shows them; past its length a response is ``[PAD]``."""
        response = self.response[envs]
        return compact_right(response, ~self.special[response], self.pad_id)

    def score(self, envs: torch.Tensor) -> torch.Tensor:
        """The reward model's scores of the responses of ``envs``.

        Whatever the model raises comes out as a ``RewardModelError`` that names it (the original as
        its cause), in the single and the vector env alike: a plugin's bare ``RuntimeError`` from deep
        in a training loop would not say which model failed.
        """
        model = self.reward_model
        responses = self.response_tokens(envs)
        if model.accepts_token_ids:
            with failures_named(model.name):
                scores = model.score_token_ids(self.user[envs], responses)
            return check_scores(scores, len(responses), model.name).to(self.device)
        tokenizer = load_tokenizer()
        env_ids = envs.nonzero().flatten().tolist()
        users = [self.triple(env).user for env in env_ids]
        texts = tokenizer.batch_decode(responses, skip_special_tokens=True)
        with failures_named(model.name):
            scores = model(users, texts)
        return scores.to(self.device)

    def triple(self, env: int) -> PolicyExample:
        """The triple whose context ``env`` is answering."""
        return self.given.get(env) or self.bank.triples[int(self.index[env])]

    def episode_texts(self, env: int) -> dict[str, Any]:
        """The texts of ``env``'s episode, as the environments put them in ``info``."""
        triple = self.triple(env)
        return {
            "previous_system": triple.previous_system,
            "user": triple.user,
            "gold_response": triple.response or None,
            "next_user": triple.next_user,
            "context_truncated": bool(self.context_truncated[env]),
        }
