"""Cut (user turn, response) pairs to a model's length, and build BERT inputs from token ids on the device.

A pair becomes ``[CLS] user [SEP] response [SEP]`` (segments 0 then 1) and a single text
``[CLS] response [SEP]``. When a pair is too long, the response keeps its first tokens, up to half
of the room if the user turn needs the rest, and the user turn keeps its *last* tokens: the end of
what the user said is what the response answers.

``keep_lengths`` is that rule: ``build_inputs`` applies it on the device for the token-id fast path,
``cut_ids`` on lists for the text path and for training. So a model in the shared vocabulary sees the
same sequences when it learns, when it scores text and when the environment hands it token ids. A
model with a vocabulary of its own cuts its tokenizer's encodings by the same rule, then lets the
tokenizer add its own special tokens (``SequenceClassifierReward`` in ``bert.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def special_tokens(pair: bool) -> int:
    """How many special tokens the shared vocabulary's BERT inputs hold: [CLS], [SEP], and a second
    [SEP] between a pair's texts."""
    return 3 if pair else 2


def keep_lengths(user_len: torch.Tensor, response_len: torch.Tensor, room: int) -> tuple[torch.Tensor, torch.Tensor]:
    """How many tokens of each user turn and of each response fit together in ``room`` tokens."""
    response_keep = torch.minimum(response_len, (room - user_len).clamp(min=room // 2))
    user_keep = torch.minimum(user_len, room - response_keep)
    return user_keep, response_keep


def cut_ids(
    users: Sequence[Sequence[int]] | None, responses: Sequence[Sequence[int]], room: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Cut each pair of id lists to ``room`` ids: the user turn keeps its last ids, the response its first.

    ``users`` is ``None`` for a single-text model: each response then has all the room, and each
    user turn comes back empty.
    """
    users = [[] for _ in responses] if users is None else users
    user_keep, response_keep = keep_lengths(
        torch.tensor([len(u) for u in users], dtype=torch.long), torch.tensor([len(r) for r in responses], dtype=torch.long), room
    )
    return (
        [list(u[len(u) - k :]) for u, k in zip(users, user_keep.tolist())],
        [list(r[:k]) for r, k in zip(responses, response_keep.tolist())],
    )


def pad_token_lists(token_lists: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    """Right-pad lists of ids into a ``(N, max_len)`` tensor."""
    width = max((len(ids) for ids in token_lists), default=0)
    out = torch.full((len(token_lists), max(width, 1)), pad_id, dtype=torch.long)
    for row, ids in enumerate(token_lists):
        out[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    return out


def build_inputs(
    user_ids: torch.Tensor | None,
    response_ids: torch.Tensor,
    *,
    max_length: int,
    cls_id: int,
    sep_id: int,
    pad_id: int,
) -> dict[str, torch.Tensor]:
    """Assemble ``input_ids``, ``attention_mask`` and ``token_type_ids`` from right-padded id tensors.

    ``user_ids`` is ``None`` for single-text models. Ids equal to ``pad_id`` count as padding.
    """
    device = response_ids.device
    n = response_ids.shape[0]
    pair = user_ids is not None
    response_len = (response_ids != pad_id).sum(1)
    user_len = (user_ids != pad_id).sum(1) if pair else torch.zeros_like(response_len)
    user_keep, response_keep = keep_lengths(user_len, response_len, max_length - special_tokens(pair))
    response_start = 1 + user_keep + int(pair)  # after [CLS], the user turn and its [SEP]
    response_end = response_start + response_keep  # where the final [SEP] goes
    total = response_end + 1
    pos = torch.arange(int(total.max()), device=device).expand(n, -1)

    def gather(ids: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return ids.gather(1, index.clamp(0, ids.shape[1] - 1))

    input_ids = torch.where(pos == 0, cls_id, pad_id)
    if pair:
        # the user's last `user_keep` tokens fill positions 1 .. user_keep
        in_user = (pos >= 1) & (pos <= user_keep.unsqueeze(1))
        user_tokens = gather(user_ids, (user_len - user_keep).unsqueeze(1) + pos - 1)
        input_ids = torch.where(in_user, user_tokens, input_ids)
        input_ids = torch.where(pos == (response_start - 1).unsqueeze(1), sep_id, input_ids)
    in_response = (pos >= response_start.unsqueeze(1)) & (pos < response_end.unsqueeze(1))
    response_tokens = gather(response_ids, pos - response_start.unsqueeze(1))
    input_ids = torch.where(in_response, response_tokens, input_ids)
    input_ids = torch.where(pos == response_end.unsqueeze(1), sep_id, input_ids)

    attention_mask = pos < total.unsqueeze(1)
    token_type_ids = (pos >= response_start.unsqueeze(1)) & attention_mask & pair
    return {"input_ids": input_ids, "attention_mask": attention_mask.long(), "token_type_ids": token_type_ids.long()}
