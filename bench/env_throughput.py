"""Environment speed: token-steps per second of HappyBotVectorEnv against SyncVectorEnv.

    python bench/env_throughput.py [--num-envs N] [--steps 200] [--reward-model lookahead vader length] [--device auto]

Prints one JSON object per reward model. ``length`` is a reward of this script (the response's
share of ``max_response_tokens``, computed on token ids) whose cost is nil: with it the ratio
measures the environments alone; with the BERT models it includes their scoring, which dominates
on a CPU. Both run the same reward model on the same corpus with the same random
actions (word ids, ``[SEP]`` with probability 0.05, so episodes end at different steps) in the same
process. ``SyncVectorEnv`` steps ``num_envs`` single ``HappyBotEnv`` (numpy, CPU, one reward call
per finished episode); the native vector env steps them all as tensors on ``--device`` and scores
every finished episode of a step in one call.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import torch

import reward_models
from happybot_env.env import HappyBotEnv
from happybot_env.tokenizer import load_tokenizer
from happybot_env.vector import HappyBotVectorEnv
from reward_models import RewardModel
from reward_models.bert import resolve_device

from arguments import corpus_name, device_name, positive_int, reward_model_name


class LengthReward(RewardModel):
    """Response length over 20 tokens, from token ids: a reward that costs next to nothing."""

    name = "length"
    accepts_token_ids = True

    def score(self, users, responses):
        return torch.tensor([min(len(r.split()) / 20, 1.0) for r in responses])

    def score_token_ids(self, user_ids, response_ids):
        return ((response_ids != 0).sum(1).float() / 20).clamp(max=1)


def length_or_reward_model(text: str) -> str:
    return text if text == LengthReward.name else reward_model_name(text)


def actions(generator: torch.Generator, steps: int, num_envs: int, sep: int) -> torch.Tensor:
    words = torch.randint(2000, 20000, (steps, num_envs), generator=generator)
    return torch.where(torch.rand(steps, num_envs, generator=generator) < 0.05, sep, words)


def timed_token_steps(envs, plan: torch.Tensor, to_env) -> tuple[int, float]:
    """``(token_steps, seconds)`` of stepping ``envs`` through ``plan[1:]`` (``plan[0]`` warms up).

    An environment's step after its episode ended only resets it (Gymnasium's next-step
    autoreset) and appends no token, so it is not counted.
    """
    envs.reset(seed=0)
    _, _, terminated, truncated, _ = envs.step(to_env(plan[0]))  # warm-up
    ended, token_steps = terminated | truncated, 0
    start = time.perf_counter()
    for step_actions in plan[1:]:
        token_steps = token_steps + (~ended).sum()  # on the env's device: no synchronisation per step
        _, _, terminated, truncated, _ = envs.step(to_env(step_actions))
        ended = terminated | truncated
    if isinstance(envs, HappyBotVectorEnv) and envs.device.type == "cuda":
        torch.cuda.synchronize(envs.device)
    return int(token_steps), time.perf_counter() - start


def token_steps_per_second(envs, plan: torch.Tensor, to_env) -> float:
    token_steps, seconds = timed_token_steps(envs, plan, to_env)
    return token_steps / seconds


def measure(reward_name: str, args: argparse.Namespace, plan: torch.Tensor) -> dict:
    # the BERT models score on the native env's device, else "--device cpu" would score on a GPU
    reward_model = LengthReward() if reward_name == "length" else reward_models.make(reward_name, device=args.device)
    native = HappyBotVectorEnv(args.num_envs, reward_model=reward_model, corpus=args.corpus, device=args.device)
    native_rate = token_steps_per_second(native, plan, lambda a: a.to(native.device))
    sync = gym.vector.SyncVectorEnv([lambda: HappyBotEnv(reward_model=reward_model, corpus=args.corpus)] * args.num_envs)
    sync_rate = token_steps_per_second(sync, plan[: args.sync_steps + 1], lambda a: a.numpy())
    device = native.device
    return {
        "benchmark": "env_throughput",
        "reward_model": reward_name,
        "num_envs": args.num_envs,
        "steps": args.steps,
        "sync_steps": args.sync_steps,
        "native_device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cpu_threads": torch.get_num_threads(),
        "native_token_steps_per_s": round(native_rate, 1),
        "sync_vector_env_token_steps_per_s": round(sync_rate, 1),
        "native_over_sync": round(native_rate / sync_rate, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", type=positive_int, default=None, help="environments (default: 4096 on a GPU, 64 on the CPU)")
    parser.add_argument("--steps", type=positive_int, default=200, help="vector steps to time (default: 200)")
    parser.add_argument("--sync-steps", type=positive_int, default=None,
                        help="steps of SyncVectorEnv (default: --steps on the CPU, 20 on a GPU, where its thousands of envs crawl)")
    parser.add_argument("--reward-model", nargs="+", type=length_or_reward_model, default=["lookahead", "vader", "length"],
                        help="reward models to time, each a registered name, a folder or length (default: lookahead vader length)")
    parser.add_argument("--corpus", type=corpus_name, default="default", help="default (the built-in corpus) or a data folder")
    parser.add_argument("--device", type=device_name, default="auto", help="device of the native vector env (default: auto)")
    args = parser.parse_args()
    on_gpu = resolve_device(args.device).type == "cuda"
    args.num_envs = (4096 if on_gpu else 64) if args.num_envs is None else args.num_envs
    if args.sync_steps is None:
        args.sync_steps = min(args.steps, 20) if on_gpu else args.steps
    elif args.sync_steps > args.steps:
        parser.error(f"--sync-steps {args.sync_steps} is more than --steps {args.steps}: SyncVectorEnv replays the same actions")

    sep = load_tokenizer().sep_token_id
    plan = actions(torch.Generator().manual_seed(0), args.steps + 1, args.num_envs, sep)
    for reward_name in args.reward_model:
        print(json.dumps(measure(reward_name, args, plan)), flush=True)


if __name__ == "__main__":
    main()
