"""The paper's policy (§2.1): a Bi-GRU encoder, a GRU decoder with Luong dot attention, and an output
layer tied to the word embeddings, which start from the pretrained encoder's.

    e_i^t = h_i^T m_t                    (1)    a^t = softmax(e^t)       (2)
    c_t   = sum_i a_i^t h_i              (3)    m*_t = tanh(W_c [c_t; m_t])  (4)
    P     = softmax((V m*_t + b) / tau)  (5)    L_MLE = -1/T sum_t log P(y*_t)  (6)

The two directions of the encoder are summed, so ``h_i`` and ``m_t`` share one size and the dot
product of (1) needs no projection. ``W_c`` maps to the embedding size, so that ``V`` can be the
embedding matrix itself. ``MultiSeq`` is the same policy with ``num_emotions > 0``: a softmax layer
on the encoder's final state predicts the context's emotion, and its loss is added to (6).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from happybot_env.atomic import atomic_directory, read_json_object

from happybot_env.tokenizer import encoder_path, load_tokenizer


@dataclass
class Seq2SeqConfig:
    vocab_size: int = 30522
    """Size of the shared WordPiece vocabulary (the environment's action space)."""
    embedding_dim: int = 384
    """Width of the word embeddings; 384 to start from the pretrained encoder's."""
    hidden_size: int = 300
    """GRU width, as in the paper."""
    dropout: float = 0.1
    temperature: float = 0.4
    """tau of equation 5."""
    num_emotions: int = 0
    """Size of the emotion head: 0 for Seq2Seq, the number of emotion labels for MultiSeq."""
    pad_id: int = 0
    start_id: int = 101
    """First decoder input ([CLS])."""
    end_id: int = 102
    """The token that ends a response ([SEP])."""
    mask_id: int | None = 103
    """[MASK], which the policy never writes (nor ``pad_id`` and ``start_id``); None for a vocabulary without one."""

    def __post_init__(self) -> None:
        ids = {"pad_id": self.pad_id, "start_id": self.start_id, "end_id": self.end_id, "mask_id": self.mask_id}
        outside = [f"{k}={v}" for k, v in ids.items() if v is not None and not 0 <= v < self.vocab_size]
        if outside:
            raise ValueError(f"{', '.join(outside)} outside the vocabulary of {self.vocab_size} tokens")
        if self.end_id in (self.pad_id, self.start_id, self.mask_id):
            raise ValueError(f"end_id {self.end_id} is also pad_id, start_id or mask_id, which the policy never writes")


@dataclass
class Decoded:
    """A batch of responses written by the policy, with what REINFORCE needs from each step."""

    tokens: torch.Tensor
    """``(B, T)`` token ids; positions after the end token hold ``pad_id``."""
    log_probs: torch.Tensor
    """``(B, T)`` log-softmax of the temperature-scaled logits at each chosen token."""
    states: torch.Tensor
    """``(B, T, H)`` decoder states ``m_t``."""
    mask: torch.Tensor
    """``(B, T)`` bool: the step belongs to the response (the end token included)."""
    entropy: torch.Tensor
    """``(B, T)`` entropy of ``P`` at each step."""


def pretrained_embeddings() -> torch.Tensor:
    """The word embeddings of the pretrained encoder (30,522 x 384), read from safetensors."""
    with safe_open(str(encoder_path() / "model.safetensors"), framework="pt") as f:
        return f.get_tensor("embeddings.word_embeddings.weight").float()


def sample(p: torch.Tensor) -> torch.Tensor:
    """One token per row of ``(B, V)`` probabilities, by inverting the cumulative distribution.

    It draws one uniform number per row where ``torch.multinomial`` draws one per vocabulary entry,
    which made it a sixth of a REINFORCE update on the CPU.
    """
    cumulative = p.cumsum(-1)
    threshold = torch.rand_like(cumulative[:, -1:]) * cumulative[:, -1:]
    # right=True finds the first entry above the threshold, so a token of probability 0 is never drawn
    return torch.searchsorted(cumulative, threshold, right=True).squeeze(1).clamp(max=p.shape[-1] - 1)


def outside_autocast(device: torch.device):
    """Where the GRUs run: in float32 whatever autocast is on around them.

    Under autocast PyTorch runs cuDNN's RNNs in float16 whatever autocast's dtype (bf16 included),
    with no loss scaling here; at a batch of thousands most of the GRUs' weight gradients lie below
    float16's smallest value and would become 0. The GRUs are a small part of a step: the 30,522-wide
    output layer stays in autocast's dtype.
    """
    return torch.autocast(device.type, enabled=False)


class Seq2SeqPolicy(nn.Module):
    def __init__(self, config: Seq2SeqConfig, embeddings: torch.Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_id)
        if embeddings is not None:
            if embeddings.shape != self.embedding.weight.shape:
                raise ValueError(f"embeddings of shape {tuple(embeddings.shape)} for a {tuple(self.embedding.weight.shape)} table")
            self.embedding.weight.data.copy_(embeddings)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = nn.GRU(config.embedding_dim, config.hidden_size, batch_first=True, bidirectional=True)
        # a GRU rather than a GRUCell: the decoder's input at step t is the token written at t-1 alone
        # (equation 4's output does not feed back), so teacher forcing runs all steps in one call
        self.decoder = nn.GRU(config.embedding_dim, config.hidden_size, batch_first=True)
        self.combine = nn.Linear(2 * config.hidden_size, config.embedding_dim)  # W_c of equation 4
        self.output_bias = nn.Parameter(torch.zeros(config.vocab_size))  # b of equation 5; V is the embedding
        self.emotion_head = nn.Linear(config.hidden_size, config.num_emotions) if config.num_emotions else None
        # Tokens that cannot be part of a response get probability 0 in equation 5: a sampled [PAD]
        # would read as an empty response (a new episode) to whoever acts on the observation.
        unwritable = torch.zeros(config.vocab_size, dtype=torch.bool)
        unwritable[[i for i in (config.pad_id, config.start_id, config.mask_id) if i is not None]] = True
        self.register_buffer("unwritable", unwritable, persistent=False)
        self.register_load_state_dict_pre_hook(_rename_gru_cell_weights)

    @classmethod
    def pretrained(cls, config: Seq2SeqConfig | None = None) -> Seq2SeqPolicy:
        """A policy whose embeddings (and tied output layer) start from the pretrained encoder's."""
        config = config or Seq2SeqConfig()
        tokenizer = load_tokenizer()
        if config.vocab_size != tokenizer.vocab_size:
            raise ValueError(f"vocab_size {config.vocab_size} differs from the shared vocabulary's {tokenizer.vocab_size}")
        return cls(config, pretrained_embeddings())

    def save(self, folder: str | Path) -> None:
        """``config.json`` and ``model.safetensors``, written atomically."""
        with atomic_directory(folder) as tmp:
            (tmp / "config.json").write_text(json.dumps(asdict(self.config), indent=2) + "\n")
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(tmp / "model.safetensors"))

    @classmethod
    def load(cls, folder: str | Path, expected_vocab_size: int | None = None) -> Seq2SeqPolicy:
        """Load a saved policy (safetensors only), checking it against the vocabulary it will act in.

        It comes in eval mode, as Hugging Face's ``from_pretrained`` returns models: a loaded policy
        is mostly there to act or be evaluated, and greedy decoding with dropout would be random.
        The training loops call ``.train()`` themselves.
        """
        folder = Path(folder)
        try:
            config = Seq2SeqConfig(**read_json_object(folder / "config.json"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{folder} holds no policy (no config.json)") from None
        except TypeError as e:
            raise ValueError(f"{folder / 'config.json'} is not a Seq2SeqConfig: {e}") from None
        if expected_vocab_size is not None and config.vocab_size != expected_vocab_size:
            raise ValueError(
                f"the policy in {folder} has a vocabulary of {config.vocab_size} tokens, the environment {expected_vocab_size}"
            )
        policy = cls(config)
        try:
            policy.load_state_dict(load_file(str(folder / "model.safetensors")))
        except RuntimeError as e:
            raise ValueError(f"{folder / 'model.safetensors'} does not fit its config.json: {e}") from None
        return policy.eval()

    # -- encoder ---------------------------------------------------------------------------

    def encode(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(h, mask, m_0)``: encoder states ``(B, L, H)``, their padding mask, the decoder's first state."""
        mask = context != self.config.pad_id
        lengths = mask.sum(1).cpu()  # on the CPU for packing anyway, so the check costs no device sync
        if not lengths.all():
            rows = (lengths == 0).nonzero().flatten().tolist()
            # attention over nothing but padding is a softmax over -inf: NaN log-probabilities
            raise ValueError(f"context rows {rows} hold only [PAD]: the policy needs at least one token to attend to")
        packed = nn.utils.rnn.pack_padded_sequence(
            self.dropout(self.embedding(context)), lengths, batch_first=True, enforce_sorted=False
        )
        with outside_autocast(context.device):
            outputs, final = self.encoder(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=context.shape[1])
        h = outputs[..., : self.config.hidden_size] + outputs[..., self.config.hidden_size :]
        return h, mask, final[0] + final[1]

    def emotion_logits(self, encoder_final: torch.Tensor) -> torch.Tensor:
        if self.emotion_head is None:
            raise ValueError("this policy has no emotion head (num_emotions=0): it is Seq2Seq, not MultiSeq")
        return self.emotion_head(encoder_final)

    # -- decoder ---------------------------------------------------------------------------

    def decode_step(
        self, token: torch.Tensor, m: torch.Tensor, h: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of equations 1-5: returns ``(logits / tau, m_t)`` for input tokens ``(B,)``."""
        m_star, states = self.decode(self.dropout(self.embedding(token)).unsqueeze(1), m, h, mask)
        return self.output_logits(m_star[:, 0]), states[:, 0]

    def decode(
        self, embedded: torch.Tensor, m: torch.Tensor, h: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Equations 1-4 for every step of the embedded inputs ``(B, T, E)`` from ``m_0`` ``(B, H)``:
        ``(m*, m)``, each ``(B, T, .)``. One GRU call and one batched attention for all ``T`` steps."""
        with outside_autocast(embedded.device):
            states, _ = self.decoder(embedded.float(), m.float().unsqueeze(0))
        scores = torch.einsum("blh,bth->btl", h, states).masked_fill(~mask.unsqueeze(1), float("-inf"))  # (1)
        attention = scores.softmax(-1)  # (2)
        c = torch.einsum("btl,blh->bth", attention, h)  # (3)
        return torch.tanh(self.combine(torch.cat([c, states], -1))), states  # (4)

    def output_logits(self, m_star: torch.Tensor) -> torch.Tensor:
        """``(V m* + b) / tau``: equation 5 before the softmax, for ``m*`` of any leading shape.

        The one place every use of ``P`` goes through (sampling, greedy decoding, ``act``, the
        log-probabilities and the MLE loss), so the unwritable tokens' logits are -inf in all of them.
        """
        tau = self.config.temperature  # applied to the inputs, which are far smaller than the logits
        logits = F.linear(self.dropout(m_star) / tau, self.embedding.weight, self.output_bias / tau)
        return logits.masked_fill(self.unwritable, float("-inf"))

    def mle_loss(
        self, context: torch.Tensor, response: torch.Tensor, encoded: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Equation 6, teacher-forced: mean over each response's tokens (its end token included), then the batch.

        A gold token the policy cannot write (padding) is left out: its probability is 0, so its
        loss would be infinite.

        ``encoded``, the output of ``encode(context)``, saves encoding the context again when the
        caller needs it too (MultiSeq's emotion head reads the same encoding).
        """
        h, mask, m = encoded if encoded is not None else self.encode(context)
        inputs = torch.cat([torch.full_like(response[:, :1], self.config.start_id), response[:, :-1]], 1)
        # The inputs are known in advance, so the whole sequence is decoded at once: a few large
        # kernels instead of a few per token (a GPU spends a small step launching them), and the
        # tied 30,522-row matrix gets two dense gradients per sequence instead of two per token.
        m_stars, _ = self.decode(self.dropout(self.embedding(inputs)), m, h, mask)
        valid = ~self.unwritable[response]
        # Logits only at the scored tokens: about a third of a batch of gold responses is padding, and
        # the 30,522-wide logits, their softmax and its gradient are most of a step's work. (Selected
        # rather than multiplied by 0 afterwards, which would also make inf * 0 = NaN.) One expression,
        # so that the logits in autocast's dtype are freed once cast.
        scored = F.cross_entropy(self.output_logits(m_stars[valid]).float(), response[valid], reduction="none")
        per_token = torch.zeros(response.shape, dtype=scored.dtype, device=scored.device).masked_scatter(valid, scored)
        return (per_token.sum(1) / valid.sum(1).clamp(min=1)).mean()

    def generate(self, context: torch.Tensor, max_tokens: int, greedy: bool = False) -> Decoded:
        """Write responses: sampled from ``P`` (for RL) or greedy (for evaluation)."""
        h, mask, m = self.encode(context)
        batch = context.shape[0]
        token = torch.full((batch,), self.config.start_id, dtype=torch.long, device=context.device)
        alive = torch.ones(batch, dtype=torch.bool, device=context.device)
        tokens, log_probs, states, masks, entropies = [], [], [], [], []
        for _ in range(max_tokens):
            logits, m = self.decode_step(token, m, h, mask)
            log_p = logits.float().log_softmax(-1)
            # detached: only log_p needs a gradient, and an exp() in the graph would keep a (B, V)
            # tensor per step alive until backward (the entropy is only logged)
            p = log_p.detach().exp()
            token = log_p.argmax(-1) if greedy else sample(p)
            tokens.append(torch.where(alive, token, self.config.pad_id))
            log_probs.append(log_p.gather(1, token.unsqueeze(1)).squeeze(1))
            entropies.append(torch.special.entr(p).sum(-1))  # -p log p, 0 where p = 0
            states.append(m)
            masks.append(alive)
            alive = alive & (token != self.config.end_id)
            token = torch.where(alive, token, self.config.pad_id)
        stack = lambda xs: torch.stack(xs, 1)  # noqa: E731
        return Decoded(stack(tokens), stack(log_probs), stack(states), stack(masks), stack(entropies))


def _rename_gru_cell_weights(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """Policies saved before the decoder became an ``nn.GRU`` hold its ``nn.GRUCell`` weights, the
    same tensors under names without the layer suffix (``decoder.weight_ih``, not ``decoder.weight_ih_l0``)."""
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        old = f"{prefix}decoder.{name}"
        if old in state_dict:
            state_dict[f"{old}_l0"] = state_dict.pop(old)


@dataclass
class ActingState:
    """What the policy carries between environment steps: encoder states, the decoder's ``m_t``, and
    each env's response length when it acted last, which the next observation must exceed by one
    (or be 0: a new episode)."""

    h: torch.Tensor
    mask: torch.Tensor
    m: torch.Tensor
    lengths: torch.Tensor


def as_batch(observation: dict, vocab_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Observation(s) of HappyBot-v0 as ``(context, response)`` tensors with a batch dimension, checked."""
    if not isinstance(observation, dict) or not {"context", "response"} <= observation.keys():
        raise ValueError("expected a HappyBot-v0 observation: a dict with 'context' and 'response' token ids")
    context, response = (torch.as_tensor(observation[k], device=device) for k in ("context", "response"))
    if context.ndim == 1 and response.ndim == 1:
        context, response = context.unsqueeze(0), response.unsqueeze(0)
    if context.ndim != 2 or response.ndim != 2 or context.shape[0] != response.shape[0]:
        raise ValueError(
            f"observation shapes context {tuple(context.shape)} and response {tuple(response.shape)}: expected "
            "(L,) and (T,) for one env, or (N, L) and (N, T) for a vector env"
        )
    if context.is_floating_point() or response.is_floating_point():
        raise ValueError("observations must hold integer token ids")
    if context.max() >= vocab_size or response.max() >= vocab_size or context.min() < 0 or response.min() < 0:
        raise ValueError(f"observation token ids must lie in [0, {vocab_size})")
    return context.long(), response.long()


def act(
    policy: Seq2SeqPolicy, observation: dict, state: ActingState | None = None, greedy: bool = False
) -> tuple[torch.Tensor, ActingState]:
    """Choose the next token for each env, keeping the recurrent state across steps.

    An env whose response is empty has started a new episode: its context is encoded afresh.
    Returns ``(actions, state)``; pass the state back with the next observation. The decoder reads
    the token the observation shows last, so an env may be stepped with another action than the one
    returned (exploration, a forced prefix), with any token but ``[PAD]``, which observations pad
    with. An observation skipped or given twice is refused.

    It acts in the module's current mode, as ``generate`` and every ``nn.Module`` do: greedy acting
    is deterministic only in eval mode (a loaded policy is in it; call ``policy.eval()`` on a new
    one). Switching modes here would silently change a policy that its caller is training.
    """
    device = next(policy.parameters()).device
    context, response = as_batch(observation, policy.config.vocab_size, device)
    # the position of the last token written, not a count: a [PAD] written inside stays visible as a gap
    lengths = ((response != policy.config.pad_id) * torch.arange(1, response.shape[1] + 1, device=device)).amax(1)
    new_episode = lengths == 0
    with torch.no_grad():
        if state is not None and (state.m.shape[0], state.h.shape[1]) != tuple(context.shape):
            raise ValueError(f"the state is for {state.m.shape[0]} envs with {state.h.shape[1]} context tokens, the observation "
                             f"has {context.shape[0]} with {context.shape[1]}: pass state=None to act in other envs")
        if state is None:
            if not new_episode.all():
                env = int((~new_episode).nonzero()[0])
                raise ValueError(f"env {env}'s response already holds {int(lengths[env])} tokens: act() starts with "
                                 "no state on the observations that begin the episodes (reset's)")
            h, mask, m = policy.encode(context)
            state = ActingState(h, mask, m, lengths)
        else:
            if (off := ~new_episode & (lengths != state.lengths + 1)).any():
                env = int(off.nonzero()[0])
                raise ValueError(f"env {env}'s response holds {int(lengths[env])} tokens where its state expects "
                                 f"{int(state.lengths[env]) + 1}: give act() every step's observation, once and in order "
                                 "(a step with [PAD], the padding, looks like a repeated one)")
            if new_episode.any():
                h, mask, m = policy.encode(context[new_episode])
                state.h[new_episode], state.mask[new_episode], state.m[new_episode] = h, mask, m
        written_last = response.gather(1, (lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        logits, state.m = policy.decode_step(torch.where(new_episode, policy.config.start_id, written_last), state.m, state.h, state.mask)
        log_p = logits.float().log_softmax(-1)  # as generate() computes it, so the two agree token for token
        actions = log_p.argmax(-1) if greedy else sample(log_p.exp())
    state.lengths = lengths
    return actions, state
