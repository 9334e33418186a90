"""Training speed: REINFORCE episodes per second against stable-baselines3 PPO, same env and reward.

    python bench/train_throughput.py [--batch-size 4096] [--updates 5] [--reward-model lookahead]

Prints one JSON object. A REINFORCE update is the whole step of the paper: sample up to
``max_response_tokens`` tokens for every env, score each response with the reward model inside
``HappyBotVectorEnv``, baseline, teacher-forced MLE on the gold responses, backward, one optimizer
step. PPO trains its ``MultiInputPolicy`` (``agents.sb3``) in ``HappyBot-v0`` on the same corpus
and reward model for ``--ppo-steps`` environment steps; its episodes are counted by a Monitor.
On a GPU it also reports the peak memory the REINFORCE updates allocated. To show where an
update's time goes, it times the rollout (sampling, then the env's steps with their reward calls)
and, within it, the sampling; the rest of an update is the losses, backward and the optimizer step.
It also reports the mean response length and the reward calls per update: the untrained policy
seldom writes ``[SEP]``, so its responses mostly run to the limit and end on the same step.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.monitor import Monitor

import reward_models
from agents import ReinforceAgent, Seq2SeqPolicy
from agents.sb3 import HAPPYBOT_POLICY_KWARGS
from happybot_env.env import HappyBotEnv
from happybot_env.vector import HappyBotVectorEnv
from reward_models.bert import resolve_device

from arguments import corpus_name, device_name, positive_int, reward_model_name


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_rollout_parts(agent: ReinforceAgent, repeats: int) -> tuple[float, float, float]:
    """Mean seconds of a rollout (sampling, then the env's steps and their reward calls) and of its
    sampling alone, each as the update runs it: where an update's time goes. Also the mean number
    of reward-model calls a rollout makes: one per step on which some episode ends."""
    device, generate, sampling = agent.device, agent.policy.generate, []
    episodes = agent.envs.batch
    score, reward_calls = episodes.score, []

    def counted_score(*args, **kwargs):
        reward_calls.append(1)
        return score(*args, **kwargs)

    def timed_generate(*args, **kwargs):
        start = time.perf_counter()
        decoded = generate(*args, **kwargs)
        synchronize(device)
        sampling.append(time.perf_counter() - start)
        return decoded

    agent.policy.generate = timed_generate
    episodes.score = counted_score
    try:
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            agent.rollout()
        synchronize(device)
        rollout = (time.perf_counter() - start) / repeats
    finally:
        del agent.policy.generate  # the instance attributes; the methods show through again
        del episodes.score
    return rollout, sum(sampling) / repeats, len(reward_calls) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=positive_int, default=None, help="envs per update (default: 4096 on a GPU, 64 on the CPU)")
    parser.add_argument("--updates", type=positive_int, default=5, help="timed REINFORCE updates (after one warm-up)")
    parser.add_argument("--ppo-steps", type=positive_int, default=512, help="environment steps of PPO to time")
    parser.add_argument("--reward-model", type=reward_model_name, default="lookahead", help="registered name or folder (default: lookahead)")
    parser.add_argument("--corpus", type=corpus_name, default="default", help="default (the built-in corpus) or a data folder")
    parser.add_argument("--max-response-tokens", type=positive_int, default=20, help="tokens sampled per response (default: 20)")
    parser.add_argument("--device", type=device_name, default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    args = parser.parse_args()
    if args.ppo_steps < 64:
        parser.error(f"--ppo-steps must be at least 64, PPO's minibatch here, got {args.ppo_steps}")

    device = resolve_device(args.device)
    reward_model = reward_models.make(args.reward_model, device=device)  # scores where the policy runs
    batch_size = (4096 if device.type == "cuda" else 64) if args.batch_size is None else args.batch_size
    envs = HappyBotVectorEnv(
        batch_size, reward_model=reward_model, corpus=args.corpus, max_response_tokens=args.max_response_tokens, device=device
    )
    agent = ReinforceAgent(Seq2SeqPolicy.pretrained(), envs)
    agent.update()  # warm-up
    synchronize(device)
    start = time.perf_counter()
    stats = [agent.update() for _ in range(args.updates)]
    synchronize(device)
    update_seconds = (time.perf_counter() - start) / args.updates
    reinforce_rate = batch_size / update_seconds
    # what a REINFORCE update at this batch needs, before PPO's allocations are mixed in
    peak_memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    rollout_seconds, sampling_seconds, reward_calls = time_rollout_parts(agent, args.updates)

    env = Monitor(HappyBotEnv(reward_model=reward_model, corpus=args.corpus, max_response_tokens=args.max_response_tokens))
    ppo = PPO("MultiInputPolicy", env, policy_kwargs=HAPPYBOT_POLICY_KWARGS, n_steps=min(args.ppo_steps, 2048), batch_size=64, device=device, seed=0)
    start = time.perf_counter()
    ppo.learn(total_timesteps=args.ppo_steps)
    ppo_seconds = time.perf_counter() - start
    ppo_rate = len(env.get_episode_rewards()) / ppo_seconds

    print(json.dumps({
        "benchmark": "train_throughput",
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "reward_model": args.reward_model,
        "batch_size": batch_size,
        "max_response_tokens": args.max_response_tokens,
        "reinforce_episodes_per_s": round(reinforce_rate, 1),
        "seconds_per_update": round(update_seconds, 4),
        # the rest of an update is the losses, backward and the optimizer step
        "seconds_rollout": round(rollout_seconds, 4),
        "seconds_sampling": round(sampling_seconds, 4),
        "seconds_env_steps_and_rewards": round(rollout_seconds - sampling_seconds, 4),
        # an untrained policy seldom writes [SEP]: its responses run to the limit and end together
        "mean_response_tokens": round(sum(s.response_length for s in stats) / len(stats), 2),
        "reward_calls_per_update": reward_calls,
        "reinforce_peak_gpu_memory_gib": round(peak_memory, 1) if peak_memory is not None else None,
        "ppo_episodes_per_s": round(ppo_rate, 2),
        "ppo_timesteps": ppo.num_timesteps,
        "reinforce_over_ppo": round(reinforce_rate / ppo_rate, 1) if ppo_rate else None,
    }, indent=2))


if __name__ == "__main__":
    main()
