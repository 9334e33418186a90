"""The contexts that ``reset()`` samples: policy triples tokenized once into tensors.

The context an agent sees is ``s_i [SEP] u_i+1`` (just ``u_i+1`` when the user opens the dialogue)
in the shared WordPiece vocabulary, truncated from the left to ``max_context_tokens`` so that the
user's last words survive, and right-padded with ``[PAD]`` (id 0). The user turn is kept apart as
well, for the reward model: its last ``user_tokens`` tokens, as many as the reward model reads.

Which triple an episode gets is a pure function of the environment's key and its episode counter
(``episode_index``), computed with integer tensor arithmetic. That is how a vector of N
environments samples on the device without a Python loop and still draws exactly what N single
environments seeded the same way draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .data import (
    VALIDATION_SPLITS,
    PolicyExample,
    default_corpora,
    dialogue_sources,
    find_corpora,
    held_out_sources,
    policy_triples,
    training_sources,
)
from .tokenizer import load_tokenizer, uncut_ids

MAX_USER_TOKENS = 128
MAX_GOLD_TOKENS = 64


def episode_index(key: torch.Tensor, counter: torch.Tensor, size: int) -> torch.Tensor:
    """The triple of each env's ``counter``-th episode, in ``[0, size)``, identical on every device.

    Each env walks the whole bank with one stride coprime to its size (near ``size`` over the golden
    ratio, so that consecutive episodes land far apart), starting where its random key says: it sees
    every triple once per ``size`` episodes, and three integer operations cost the vector env little.
    """
    return (key + counter * walk_stride(size)) % size


@lru_cache(maxsize=64)
def walk_stride(size: int) -> int:
    stride = max(1, round(size * 0.6180339887))
    while math.gcd(stride, size) != 1:
        stride += 1
    return stride


def row_views(rows: torch.Tensor, user_tokens: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Views of packed episode rows: ``(context ids, user ids, gold ids, truncated flag as 0/1)``."""
    context_end = rows.shape[1] - user_tokens - MAX_GOLD_TOKENS - 1
    user_end = context_end + user_tokens
    return rows[:, :context_end], rows[:, context_end:user_end], rows[:, user_end:-1], rows[:, -1]


@dataclass
class EpisodeBank:
    """Triples and their token ids, on one device.

    The ids of a triple sit in one row of ``rows``, ``context | user | gold | truncated``, so that
    an environment starting episodes gathers one row per episode in one operation rather than four;
    ``context_ids`` and the others are views into it.
    """

    triples: list[PolicyExample]
    rows: torch.Tensor
    """``(M, max_context_tokens + user_tokens + MAX_GOLD_TOKENS + 1)`` int64."""
    user_tokens: int = MAX_USER_TOKENS

    def __len__(self) -> int:
        return len(self.triples)

    @property
    def context_ids(self) -> torch.Tensor:
        """``(M, max_context_tokens)``, right-padded."""
        return row_views(self.rows, self.user_tokens)[0]

    @property
    def user_ids(self) -> torch.Tensor:
        """``(M, user_tokens)``, the user turn alone (its last tokens), right-padded."""
        return row_views(self.rows, self.user_tokens)[1]

    @property
    def gold_ids(self) -> torch.Tensor:
        """``(M, MAX_GOLD_TOKENS)``, the gold response followed by ``[SEP]``; all ``[PAD]`` when unknown."""
        return row_views(self.rows, self.user_tokens)[2]

    @property
    def context_truncated(self) -> torch.Tensor:
        """``(M,)`` bool: the context lost tokens on the left."""
        return row_views(self.rows, self.user_tokens)[3].bool()

    def to(self, device: torch.device | str) -> EpisodeBank:
        return EpisodeBank(self.triples, self.rows.to(device), self.user_tokens)


def encode_contexts(
    previous_system: Sequence[str], users: Sequence[str], max_context_tokens: int, user_tokens: int = MAX_USER_TOKENS
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(context_ids, context_truncated, user_ids)`` for a batch of ``(s_i, u_i+1)``."""
    tokenizer = load_tokenizer()
    n = len(users)
    ids = uncut_ids(list(previous_system) + list(users))
    context_ids = torch.zeros((n, max_context_tokens), dtype=torch.long)
    user_ids = torch.zeros((n, user_tokens), dtype=torch.long)
    truncated = torch.zeros(n, dtype=torch.bool)
    for row, (system, user) in enumerate(zip(ids[:n], ids[n:])):
        full = system + [tokenizer.sep_token_id] + user if system else user
        kept = full[-max_context_tokens:]
        context_ids[row, : len(kept)] = torch.tensor(kept, dtype=torch.long)
        truncated[row] = len(full) > max_context_tokens
        user_kept = user[-user_tokens:]
        user_ids[row, : len(user_kept)] = torch.tensor(user_kept, dtype=torch.long)
    return context_ids, truncated, user_ids


def bank_from_triples(
    triples: list[PolicyExample], max_context_tokens: int, user_tokens: int = MAX_USER_TOKENS
) -> EpisodeBank:
    if not triples:
        raise ValueError("the corpus yields no policy triples: no system turn answers a user turn")
    context_ids, truncated, user_ids = encode_contexts(
        [t.previous_system for t in triples], [t.user for t in triples], max_context_tokens, user_tokens
    )
    # a user turn with no tokens (blank, zero-width characters) leaves nothing to answer, and with no
    # system turn before it an all-padding context that the policy's attention cannot read
    tokenizer = load_tokenizer()
    answerable = user_ids[:, 0] != tokenizer.pad_token_id
    if not answerable.all():
        triples = [t for t, keep in zip(triples, answerable.tolist()) if keep]
        if not triples:
            raise ValueError("every user turn of the corpus is empty once tokenized: there is nothing to answer")
        context_ids, truncated, user_ids = context_ids[answerable], truncated[answerable], user_ids[answerable]
    gold_ids = torch.zeros((len(triples), MAX_GOLD_TOKENS), dtype=torch.long)
    for row, ids in enumerate(uncut_ids([t.response for t in triples])):
        if ids:
            ids = (ids + [tokenizer.sep_token_id])[:MAX_GOLD_TOKENS]
            gold_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    rows = torch.cat([context_ids, user_ids, gold_ids, truncated.long().unsqueeze(1)], dim=1)
    return EpisodeBank(triples, rows, user_tokens)


def triples_from_texts(texts: Sequence[str]) -> list[PolicyExample]:
    """User turns given as plain texts: contexts with no system turn before them and no gold response."""
    return [PolicyExample(f"text:{i}", 1, "", text, "", None) for i, text in enumerate(texts)]


@lru_cache(maxsize=8)
def _load_bank(corpus: str, split: str, max_context_tokens: int, user_tokens: int) -> EpisodeBank:
    sources = default_corpora() if corpus == "default" else find_corpora(corpus)
    dialogues = dialogue_sources(sources)
    if split == "train":
        chosen = training_sources(dialogues)
    elif split in VALIDATION_SPLITS:  # the corpora name it differently: any of the names gets all of them
        chosen = held_out_sources(dialogues)
    else:
        chosen = [s for s in dialogues if s.split == split]
    if not chosen:
        available = sorted({s.split for s in dialogues})
        if split in VALIDATION_SPLITS and set(available) & set(VALIDATION_SPLITS):
            # a corpus whose only split is a validation split trains on it (training_sources): it is held out of nothing
            raise ValueError(
                f"no held-out dialogue split in {corpus}: its validation splits belong to corpora without a train split, "
                "which train on them; give a train split beside them"
            )
        raise ValueError(f"no dialogue corpus with split {split!r} in {corpus}; splits there: {available}")
    triples = [t for source in chosen for t in policy_triples(source.read().dialogues)]
    return bank_from_triples(triples, max_context_tokens, user_tokens)


def load_bank(
    corpus: str | Path | Sequence[str], split: str, max_context_tokens: int, user_tokens: int = MAX_USER_TOKENS
) -> EpisodeBank:
    """The episode bank of a corpus: ``"default"`` (built in), a data directory, or a list of user turns."""
    if isinstance(corpus, (str, Path)):
        name = "default" if str(corpus) == "default" else str(Path(corpus).resolve())
        return _load_bank(name, split, max_context_tokens, user_tokens)
    return bank_from_triples(triples_from_texts(list(corpus)), max_context_tokens, user_tokens)
