"""Reward scoring speed: pairs per second at 64 tokens, token-id fast path against the text path.

    python bench/reward_throughput.py [--model lookahead] [--pairs 65536] [--device auto]

Prints one JSON object. The fast path hands right-padded WordPiece ids already on the device to
``score_token_ids``, as the environment does; the text path tokenizes strings first. Both score the
same pairs with the same model in the same run, so their ratio is meaningful on any machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

import reward_models
from happybot_env.tokenizer import load_tokenizer
from reward_models.bert import SequenceClassifierReward


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up: kernels, allocator, tokenizer caches
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lookahead", help="reward model name or folder (default: lookahead)")
    parser.add_argument("--pairs", type=int, default=None, help="pairs per call (default: 65536 on a GPU, 512 on the CPU)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per path, averaged (default: 3)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N: where the model scores (default: auto)")
    args = parser.parse_args()

    model = reward_models.make(args.model, device=args.device)
    if not isinstance(model, SequenceClassifierReward) or not model.accepts_token_ids:
        parser.error(f"{args.model} is not a BERT reward model in the shared vocabulary: it has no fast path to time")
    device = model.device  # where scoring runs (make() honours --device; tested in test_reward_models.py)
    n = (65536 if device.type == "cuda" else 512) if args.pairs is None else args.pairs
    tokenizer = load_tokenizer()
    # 64 tokens in all: [CLS] + 31 user tokens + [SEP] + 30 response tokens + [SEP]
    generator = torch.Generator().manual_seed(0)
    user_ids = torch.randint(1000, 30000, (n, 31), generator=generator)
    response_ids = torch.randint(1000, 30000, (n, 30), generator=generator)
    users = tokenizer.batch_decode(user_ids)
    responses = tokenizer.batch_decode(response_ids)
    user_ids, response_ids = user_ids.to(device), response_ids.to(device)

    fast = timed(lambda: model.score_token_ids(user_ids, response_ids), device, args.repeats)
    text = timed(lambda: model(users, responses), device, args.repeats)
    print(json.dumps({
        "benchmark": "reward_throughput",
        "model": str(args.model),
        "input": model.input,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "dtype": str(next(model.model.parameters()).dtype),
        "tokens_per_pair": 64,
        "pairs": n,
        "batch_size": model.batch_size,
        "fast_path_pairs_per_s": round(n / fast, 1),
        "text_path_pairs_per_s": round(n / text, 1),
        "fast_over_text": round(text / fast, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
