"""The two policy-training loops of ``train.py``: MLE pretraining and REINFORCE.

Both log namespaced TensorBoard scalars, checkpoint atomically every ``checkpoint_every`` steps,
resume exactly (model, optimizer, RNG and step; the batches of step k depend only on the seed
and k), and stop on a non-finite loss or gradient before the optimizer steps, so no checkpoint
ever holds non-finite weights. A finished run resumed with more steps goes on from where it ended.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from happybot_env.checkpoint import save_checkpoint, start_step
from reward_models import RewardModelError

from .policy_data import IGNORE, PolicyData
from .reinforce import ReinforceAgent
from .seq2seq import Seq2SeqPolicy

CHECKPOINT = "checkpoint.pt"


@dataclass
class LoopConfig:
    steps: int = 300
    """Optimizer steps (MLE) or updates (REINFORCE)."""
    batch_size: int = 32
    """Examples per MLE step (REINFORCE: the number of environments)."""
    learning_rate: float = 1e-3
    """MLE only: REINFORCE takes its learning rates and clipping from the agent's ``ReinforceConfig``."""
    max_grad_norm: float = 1.0
    """MLE only, like ``learning_rate``."""
    checkpoint_every: int = 50
    seed: int = 0


def _identity(config: LoopConfig, unused: tuple[str, ...] = (), **more) -> dict:
    """The settings a checkpoint must share with the run that resumes it.

    The number of steps is not among them: the batches of step k depend only on the seed and k and
    the learning rate is constant, so resuming a finished run with more steps extends it to exactly
    the run that would have been made with those steps from the start. Nor are the fields of
    ``config`` that the loop does not read (``unused``).
    """
    return {k: v for k, v in asdict(config).items() if k not in ("steps", "checkpoint_every", *unused)} | more


def _last_good_state(folder: Path) -> str:
    """Where a run stopped on a non-finite value can resume from: its checkpoint, if it has written one."""
    path = folder / CHECKPOINT
    return f"{path} holds the last good state" if path.exists() else "no checkpoint has been written yet"


def _check_finite(value: torch.Tensor, step: int, folder: Path, what: str = "loss") -> None:
    """Raise before the optimizer steps when ``value`` (the loss, or ``what`` else) is not finite."""
    if not torch.isfinite(value):
        raise FloatingPointError(
            f"non-finite {what} ({value.item()}) at step {step}; the weights were not updated and {_last_good_state(folder)}"
        )


def train_mle(
    policy: Seq2SeqPolicy,
    data: PolicyData,
    valid: PolicyData,
    config: LoopConfig,
    folder: Path,
    writer: SummaryWriter,
    tag: str,
    resume: bool = False,
    quiet: bool = False,
    emotion_weight: float = 1.0,
) -> dict:
    """Teacher-forced MLE (equation 6), plus the emotion loss when the policy has an emotion head."""
    device = next(policy.parameters()).device
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    identity = _identity(
        config, policy=asdict(policy.config), examples=len(data), shapes=[*data.context.shape[1:], *data.gold.shape[1:]],
        emotion_weight=emotion_weight,
    )

    def restore(payload):
        policy.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])

    start, seconds_before = start_step(folder / CHECKPOINT, identity, resume, config.steps, restore)
    clock = time.perf_counter() - seconds_before  # so that each checkpoint holds the stage's seconds over every run
    multiseq = policy.emotion_head is not None
    policy.train()
    for step in tqdm(range(start + 1, config.steps + 1), desc=tag, initial=start, total=config.steps, disable=quiet):
        began = time.perf_counter()
        index = torch.randint(len(data), (config.batch_size,), generator=torch.Generator().manual_seed(config.seed * 1_000_003 + step))
        context, gold = data.context[index].to(device), data.gold[index].to(device)
        encoded = policy.encode(context)
        loss = mle = policy.mle_loss(context, gold, encoded)
        if multiseq:
            emotion = data.emotion[index].to(device)
            if (emotion != IGNORE).any():
                _, _, encoder_final = encoded
                emotion_loss = F.cross_entropy(policy.emotion_logits(encoder_final), emotion, ignore_index=IGNORE)
                loss = mle + emotion_weight * emotion_loss
                writer.add_scalar(f"{tag}/emotion_loss", emotion_loss.item(), step)
        _check_finite(loss, step, folder)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # a finite loss can still have infinite gradients, which clipping turns into NaN weights
        norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
        _check_finite(norm, step, folder, "gradient norm")
        optimizer.step()
        writer.add_scalar(f"{tag}/mle_loss", mle.item(), step)
        writer.add_scalar(f"{tag}/steps_per_second", 1 / (time.perf_counter() - began), step)
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(
                folder / CHECKPOINT, step, identity, seconds=time.perf_counter() - clock,
                model=policy.state_dict(), optimizer=optimizer.state_dict(),
            )
    valid_loss = _mean_mle_loss(policy, valid, config.batch_size)
    if valid_loss is not None and not math.isfinite(valid_loss):
        # every training loss was finite, but these weights are not usable: the caller saves no policy
        raise FloatingPointError(f"non-finite held-out loss ({valid_loss}) after step {config.steps}: the policy was not saved")
    if valid_loss is not None:  # without held-out data there is no loss: a 0.0 would read as a perfect one
        writer.add_scalar(f"{tag}/valid_mle_loss", valid_loss, config.steps)
    return {"steps": config.steps, "valid_mle_loss": valid_loss}


def _mean_mle_loss(policy: Seq2SeqPolicy, data: PolicyData, batch_size: int) -> float | None:
    """Equation 6 over ``data`` in eval mode, a batch at a time: the logits of a whole held-out set
    over the 30,522-token vocabulary would not fit in memory."""
    if not len(data):
        return None
    device = next(policy.parameters()).device
    policy.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            context, gold = data.context[start : start + batch_size].to(device), data.gold[start : start + batch_size].to(device)
            total += policy.mle_loss(context, gold).item() * len(context)
    return total / len(data)


def train_reinforce(
    agent: ReinforceAgent,
    config: LoopConfig,
    folder: Path,
    writer: SummaryWriter,
    tag: str,
    resume: bool = False,
    quiet: bool = False,
    sample_every: int = 10,
    reward: str | None = None,
) -> dict:
    """``config.steps`` REINFORCE updates of ``agent``, logging rewards, losses, entropy and samples.

    ``reward`` is what the checkpoint records as the reward model, so that a resume against another
    one is refused: by default its name, which two model folders can share; ``train.py`` passes a
    registered name, or a folder's absolute path.
    """
    envs = agent.envs
    # the agent's config, not the loop's, sets the learning rates and the clipping
    identity = _identity(
        config, ("learning_rate", "max_grad_norm"), policy=asdict(agent.policy.config), agent=asdict(agent.config),
        envs=envs.num_envs, reward=reward or envs.reward_model.name, contexts=len(envs.batch.bank),
        shapes=[envs.batch.context.shape[1], envs.max_response_tokens],
    )

    def restore(payload):
        agent.policy.load_state_dict(payload["model"])
        agent.baseline.load_state_dict(payload["baseline"])
        agent.optimizer.load_state_dict(payload["optimizer"])
        envs.load_sampling_state(payload["env_sampling"])
        history.extend(payload["history"])

    history: list[list[float]] = []
    start, seconds_before = start_step(folder / CHECKPOINT, identity, resume, config.steps, restore)
    clock = time.perf_counter() - seconds_before
    if start == 0:
        # Gymnasium seeds env i with seed + i: seeds 0 and 1 would share all but one env's episodes
        envs.reset(seed=config.seed * envs.num_envs)
    for step in tqdm(range(start + 1, config.steps + 1), desc=tag, initial=start, total=config.steps, disable=quiet):
        began = time.perf_counter()
        try:
            stats = agent.update()
        except FloatingPointError as e:
            raise FloatingPointError(f"update {step}: {e}; {_last_good_state(folder)}") from None
        except RewardModelError as e:  # a NaN score, or a model that crashed: as above, say where to resume
            raise RewardModelError(f"update {step}: {e}; {_last_good_state(folder)}") from e
        elapsed = time.perf_counter() - began
        history.append([step, stats.reward])
        for name, value in (
            ("reward", stats.reward), ("rl_loss", stats.rl_loss), ("mle_loss", stats.mle_loss),
            ("baseline_error", stats.baseline_loss), ("entropy", stats.entropy),
            ("response_length", stats.response_length), ("episodes_per_second", stats.episodes / elapsed),
        ):
            writer.add_scalar(f"{tag}/{name}", value, step)
        if step % sample_every == 0 or step == config.steps:
            writer.add_text(f"{tag}/samples", _samples_markdown(agent), step)
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(
                folder / CHECKPOINT, step, identity, seconds=time.perf_counter() - clock,
                model=agent.policy.state_dict(), baseline=agent.baseline.state_dict(),
                optimizer=agent.optimizer.state_dict(), env_sampling=envs.sampling_state(),
                history=history,
            )
    return {"updates": config.steps, "reward_history": history, "final_reward": sum(r for _, r in history[-10:]) / max(len(history[-10:]), 1)}


def _samples_markdown(agent: ReinforceAgent, n: int = 4) -> str:
    """A few greedy responses of the current policy to the environments' current contexts."""
    from happybot_env.tokenizer import load_tokenizer

    tokenizer = load_tokenizer()
    context = agent.envs.batch.context[:n]
    agent.policy.eval()  # greedy means without dropout; and dropout would draw from the run's RNG
    with torch.no_grad():
        decoded = agent.policy.generate(context, agent.envs.max_response_tokens, greedy=True)
    rows = ["| context | response |", "|---|---|"]
    for c, r in zip(tokenizer.batch_decode(context, skip_special_tokens=True), tokenizer.batch_decode(decoded.tokens, skip_special_tokens=True)):
        rows.append(f"| {c.replace('|', '/')} | {r.replace('|', '/')} |")
    return "\n".join(rows)
