"""REINFORCE with a per-step linear baseline and MLE mixing (paper §2.3), batched on one device.

One update:

1. ``envs.reset()`` draws a context for each of the N episodes; the policy samples a response for
   every one of them at once, and the tokens are played into the environment, which pays each
   episode the reward model's score when it ends (all finished episodes of a step in one call).
2. The baseline ``R_hat_t = W_r m_t + b_r`` reads the *detached* decoder states and learns by
   equation 8, ``L_b = 1/T sum_t (R - R_hat_t)^2``: its loss reaches no policy parameter.
3. The policy loss is equation 9, ``L_RL = -1/T sum_t (R - R_hat_t) log P(w_t)``, with
   ``log P`` the log-softmax of the temperature-scaled logits at the *sampled* token and the
   advantage held constant; mixed with teacher-forced MLE on the gold responses of the same
   contexts by equation 10, ``L = lambda L_RL + (1 - lambda) L_MLE``.
4. One backward pass through ``L + L_b``, gradient clipping, and a single optimizer step.

The original code took ``-log`` of raw logits and stepped its optimizer twice per batch, once
for the baseline without zeroing the policy's gradients; both are tested against here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .seq2seq import Seq2SeqPolicy


@dataclass
class ReinforceConfig:
    learning_rate: float = 5e-4
    """Adam learning rate (the paper searches [1e-4, 1e-3])."""
    rl_weight: float = 0.25
    """lambda of equation 10: the weight of L_RL against L_MLE."""
    baseline_learning_rate: float = 1e-2
    """Adam learning rate of the baseline, a linear regression on detached states. It must track the
    reward within tens of updates: at a policy's rate of 1e-4 its bias alone needs thousands of
    updates to reach a mean reward of 0.6, and until then nearly every sampled response is reinforced."""
    max_grad_norm: float = 1.0
    """The policy's gradient and the baseline's are each clipped to this norm (clipped together, the
    baseline's large early gradient would shrink the policy's)."""
    bf16: bool = True
    """bf16 autocast on CUDA (ignored on the CPU); the GRUs stay in float32 (``outside_autocast``)."""

    def __post_init__(self) -> None:
        if not 0 <= self.rl_weight <= 1:
            raise ValueError(f"rl_weight (lambda of equation 10) must lie in [0, 1], got {self.rl_weight}")


@dataclass
class UpdateStats:
    reward: float
    """Mean reward of the batch's episodes."""
    rl_loss: float
    mle_loss: float
    baseline_loss: float
    """L_b: mean squared error of the baseline."""
    entropy: float
    """Mean entropy of P over the responses' steps."""
    response_length: float
    episodes: int


class ReinforceAgent:
    def __init__(self, policy: Seq2SeqPolicy, envs, config: ReinforceConfig | None = None) -> None:
        self.config = config or ReinforceConfig()
        if policy.config.vocab_size != envs.single_action_space.n:
            raise ValueError(
                f"the policy's vocabulary ({policy.config.vocab_size} tokens) does not match the environment's "
                f"action space ({envs.single_action_space.n})"
            )
        # The env ends an episode on its [SEP], pads gold responses with its [PAD] and is sent the policy's
        # padding once a response has ended: other ids would leave responses unended, train on padding
        # as if it were gold tokens, or write tokens into the episodes that follow.
        special = {
            "end_id": (policy.config.end_id, "[SEP]", envs.batch.sep_id),
            "pad_id": (policy.config.pad_id, "[PAD]", envs.batch.pad_id),
        }
        wrong = [f"{name} {ours}, the environment's {token} is {theirs}" for name, (ours, token, theirs) in special.items() if ours != theirs]
        if wrong:
            raise ValueError(f"the policy's special tokens do not match the environment's tokenizer: {'; '.join(wrong)}")
        self.envs = envs
        self.device = envs.device
        self.policy = policy.to(self.device)
        self.baseline = nn.Linear(policy.config.hidden_size, 1).to(self.device)
        self.optimizer = torch.optim.Adam(
            [
                {"params": self.policy.parameters()},
                {"params": self.baseline.parameters(), "lr": self.config.baseline_learning_rate},
            ],
            lr=self.config.learning_rate,
        )

    def rollout(self):
        """Sample one response per environment and collect its reward from the environment."""
        observation, _ = self.envs.reset()
        context = observation["context"]
        gold, has_gold = self.envs.gold_responses()
        with self._autocast():
            decoded = self.policy.generate(context, self.envs.max_response_tokens)
        rewards = torch.zeros(context.shape[0], device=self.device)
        for t in range(decoded.tokens.shape[1]):
            # after an episode ends the env starts another, which only ever receives [PAD] here and
            # never reaches its end within these steps, so it is never scored
            _, step_rewards, _, _, _ = self.envs.step(decoded.tokens[:, t])
            rewards += step_rewards
        return context, gold, has_gold, decoded, rewards

    def losses(self, context, gold, has_gold, decoded, rewards) -> dict[str, torch.Tensor]:
        mask = decoded.mask.float()
        steps = mask.sum(1).clamp(min=1)
        predicted = self.baseline(decoded.states.detach().float()).squeeze(-1)  # (7), detached m_t
        error = rewards.unsqueeze(1) - predicted
        baseline_loss = ((error**2 * mask).sum(1) / steps).mean()  # (8)
        advantage = error.detach()
        rl_loss = (-(advantage * decoded.log_probs * mask).sum(1) / steps).mean()  # (9)
        with self._autocast():
            mle_loss = self.policy.mle_loss(context[has_gold], gold[has_gold]) if has_gold.any() else rl_loss.new_zeros(())
        mixed = self.config.rl_weight * rl_loss + (1 - self.config.rl_weight) * mle_loss  # (10)
        return {"mixed": mixed, "rl": rl_loss, "mle": mle_loss, "baseline": baseline_loss}

    def update(self) -> UpdateStats:
        """One rollout and one optimizer step. Raises ``FloatingPointError`` before stepping on a
        non-finite loss or gradient, leaving the weights as they were."""
        self.policy.train()
        context, gold, has_gold, decoded, rewards = self.rollout()
        losses = self.losses(context, gold, has_gold, decoded, rewards)
        total = losses["mixed"] + losses["baseline"]
        if not torch.isfinite(total):
            raise FloatingPointError(
                "non-finite loss " + ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items()) + ": the weights were not updated"
            )
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        policy_norm = nn.utils.clip_grad_norm_(self.policy.parameters(), self.config.max_grad_norm)
        baseline_norm = nn.utils.clip_grad_norm_(self.baseline.parameters(), self.config.max_grad_norm)
        # clipping an infinite gradient yields NaN, which Adam would write into the weights; the norms
        # are non-negative, so their sum is finite exactly when both are, checked in one device sync
        if not torch.isfinite(policy_norm + baseline_norm):
            raise FloatingPointError(
                f"non-finite gradient norm (policy {policy_norm.item():.4g}, baseline {baseline_norm.item():.4g}): "
                "the weights were not updated"
            )
        self.optimizer.step()
        mask = decoded.mask.float()
        return UpdateStats(
            reward=float(rewards.mean()),
            rl_loss=losses["rl"].item(),
            mle_loss=losses["mle"].item(),
            baseline_loss=losses["baseline"].item(),
            entropy=((decoded.entropy * mask).sum() / mask.sum()).item(),
            response_length=float(mask.sum(1).mean()),
            episodes=int(rewards.numel()),
        )

    def _autocast(self):
        enabled = self.config.bf16 and self.device.type == "cuda"
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=enabled)
