"""The benchmark scripts refuse arguments they cannot time, before any model loads where they can."""

import importlib
import subprocess
import sys

import numpy as np
import pytest

from .conftest import REPO_ROOT


def bench(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "bench" / script), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "script, args, message",
    [
        ("reward_throughput.py", ["--pairs", "0"], "argument --pairs: must be at least 1, got 0"),
        ("reward_throughput.py", ["--repeats", "0"], "argument --repeats: must be at least 1, got 0"),
        ("reward_throughput.py", ["--model", "nosuch"], "argument --model: unknown reward model 'nosuch'"),
        # 16 pairs make batches of 16 alone, so only 93 shapes (user turns of 8 to 100 tokens) exist
        ("reward_throughput.py", ["--device", "cpu", "--pairs", "16", "--new-shapes", "100"], "only 93 distinct shapes"),
        ("env_throughput.py", ["--steps", "0"], "argument --steps: must be at least 1, got 0"),
        ("env_throughput.py", ["--sync-steps", "0"], "argument --sync-steps: must be at least 1, got 0"),
        ("env_throughput.py", ["--steps", "5", "--sync-steps", "50"], "--sync-steps 50 is more than --steps 5"),
        ("env_throughput.py", ["--reward-model", "length", "nosuch"], "argument --reward-model: unknown reward model 'nosuch'"),
        ("train_throughput.py", ["--updates", "0"], "argument --updates: must be at least 1, got 0"),
        ("train_throughput.py", ["--reward-model", "nosuch"], "argument --reward-model: unknown reward model 'nosuch'"),
        ("train_throughput.py", ["--ppo-steps", "1"], "--ppo-steps must be at least 64, PPO's minibatch here, got 1"),
        ("train_throughput.py", ["--corpus", "/nonexistent"], "argument --corpus: no folder at /nonexistent"),
        ("env_throughput.py", ["--corpus", "/nonexistent"], "argument --corpus: no folder at /nonexistent"),
        ("run_all.py", ["--data-dir", "/nonexistent"], "argument --data-dir: no folder at /nonexistent"),
        *((script, ["--device", "cuda:99"], "argument --device: device 'cuda:99': no such CUDA device here")
          for script in ("reward_throughput.py", "env_throughput.py", "train_throughput.py", "run_all.py")),
    ],
)
def test_an_argument_with_nothing_to_time_is_refused(script, args, message):
    result = bench(script, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


class EndsOnZero:
    """Vector env stand-in whose episodes end on action 0, as numpy arrays like SyncVectorEnv's."""

    def reset(self, seed=None):
        return None, {}

    def step(self, actions):
        return None, None, actions == 0, np.zeros(len(actions), dtype=bool), {}


def test_env_throughput_counts_only_the_steps_that_append_a_token(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT / "bench"))
    env_throughput = importlib.import_module("env_throughput")
    # row 0 warms up and ends env 1; an env's step after its episode ended is its autoreset, no token
    plan = np.array([[5, 0], [0, 5], [5, 5], [5, 5]])
    token_steps, seconds = env_throughput.timed_token_steps(EndsOnZero(), plan, lambda a: a)
    assert token_steps == 1 + 1 + 2 and seconds > 0
