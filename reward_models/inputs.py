"""Build BERT inputs from token ids on the device, with no Python loop over the batch.

Both the text path and the token-id fast path of a reward model go through ``build_inputs``, and so
does training, so a model sees the same sequences when it learns, when it scores text and when the
environment hands it token ids.

A pair becomes ``[CLS] user [SEP] response [SEP]`` (segments 0 then 1) and a single text
``[CLS] response [SEP]``. When a pair is too long, the response keeps its first tokens, up to half
of the room if the user turn needs the rest, and the user turn keeps its *last* tokens: the end of
what the user said is what the response answers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from happybot_env.tokenizer import uncut_ids


def pad_token_lists(token_lists: Sequence[Sequence[int]], pad_id: int, keep_last: int | None = None) -> torch.Tensor:
    """Right-pad lists of ids into a ``(N, max_len)`` tensor; ``keep_last`` clips each list from the left."""
    if keep_last is not None:
        token_lists = [ids[-keep_last:] if keep_last else [] for ids in token_lists]
    width = max((len(ids) for ids in token_lists), default=0)
    out = torch.full((len(token_lists), max(width, 1)), pad_id, dtype=torch.long)
    for row, ids in enumerate(token_lists):
        out[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    return out


def tokenize(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int, keep: str) -> torch.Tensor:
    """Token ids without special tokens, clipped to ``max_length`` (keeping the ``"first"`` or ``"last"``)."""
    ids = uncut_ids(texts, tokenizer)
    ids = [t[-max_length:] if keep == "last" else t[:max_length] for t in ids]
    return pad_token_lists(ids, tokenizer.pad_token_id)


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
    if pair:
        user_len = (user_ids != pad_id).sum(1)
        room = max_length - 3
        half = torch.full_like(user_len, room // 2)
        response_keep = torch.minimum(response_len, torch.maximum(room - user_len, half))
        user_keep = torch.minimum(user_len, room - response_keep)
    else:
        response_keep = response_len.clamp(max=max_length - 2)
        user_keep = torch.zeros_like(response_len)
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
