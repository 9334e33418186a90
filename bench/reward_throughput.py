"""Reward scoring speed: pairs per second at 64 tokens (32 for a model that reads the response alone),
token-id fast path against the text path.

    python bench/reward_throughput.py [--model lookahead] [--pairs 65536] [--device auto]

Prints one JSON object. The fast path hands right-padded WordPiece ids already on the device to
``score_token_ids``, as the environment does; the text path tokenizes strings first. Both score the
same pairs with the same model in the same run, so their ratio is meaningful on any machine.

The environment calls the fast path differently: with the episodes that ended on a step, a batch of
a new size almost every call. ``new_shape_pairs_per_s`` times ``--new-shapes`` such calls, one per
shape, with the attention kernels scoring uses (``SCORING_ATTENTION_BACKENDS``); then the same calls
with PyTorch's default choice of kernels, which on Hopper GPUs is cuDNN attention and its per-shape
graph builds.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from unittest import mock

import torch
from torch.nn.attention import SDPBackend

import reward_models
from happybot_env.tokenizer import load_tokenizer
from reward_models import bert
from reward_models.bert import SequenceClassifierReward

from arguments import device_name, positive_int, reward_model_name

RESPONSE_TOKENS = 20


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


def new_shapes(count: int, max_batch: int, generator: torch.Generator) -> list[tuple[int, int]]:
    """``count`` distinct ``(pairs, user tokens)`` shapes, as the environment's steps hand the reward model."""
    shapes: list[tuple[int, int]] = []
    while len(shapes) < count:
        shape = (int(torch.randint(16, max_batch + 1, (1,), generator=generator)), int(torch.randint(8, 101, (1,), generator=generator)))
        if shape not in shapes:
            shapes.append(shape)
    return shapes


def new_shape_rate(model: SequenceClassifierReward, shapes: list[tuple[int, int]], generator: torch.Generator) -> float:
    """Pairs per second over one call per shape, without a warm-up: whatever a kernel builds for a
    shape it has not seen is part of the time, as it is for the environment."""
    batches = [
        (torch.randint(1000, 30000, (pairs, user_tokens), generator=generator).to(model.device),
         torch.randint(1000, 30000, (pairs, RESPONSE_TOKENS), generator=generator).to(model.device))
        for pairs, user_tokens in shapes
    ]
    synchronize(model.device)
    start = time.perf_counter()
    for user_ids, response_ids in batches:
        model.score_token_ids(user_ids, response_ids)
    synchronize(model.device)
    return sum(pairs for pairs, _ in shapes) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=reward_model_name, default="lookahead", help="reward model name or folder (default: lookahead)")
    parser.add_argument("--pairs", type=positive_int, default=None, help="pairs per call (default: 65536 on a GPU, 512 on the CPU)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="timed calls per path, averaged (default: 3)")
    parser.add_argument("--device", type=device_name, default="auto", help="auto, cpu, cuda or cuda:N: where the model scores (default: auto)")
    parser.add_argument("--new-shapes", type=positive_int, default=50, help="calls of new shapes per attention choice (default: 50)")
    args = parser.parse_args()

    model = reward_models.make(args.model, device=args.device)
    if not isinstance(model, SequenceClassifierReward) or not model.accepts_token_ids:
        parser.error(f"{args.model} is not a BERT reward model in the shared vocabulary: it has no fast path to time")
    device = model.device  # where scoring runs (make() honours --device; tested in test_reward_models.py)
    n = (65536 if device.type == "cuda" else 512) if args.pairs is None else args.pairs
    max_batch = max(16, n // 128)
    if args.new_shapes > (distinct := (max_batch - 15) * (100 - 8 + 1)):
        parser.error(f"--new-shapes {args.new_shapes}: {n} pairs allow only {distinct} distinct shapes; give more --pairs")
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
    # the same shapes for both, scoring's kernels first: cuDNN's graphs are then all built fresh, and
    # whatever else caches by shape (cuBLAS, the allocator) is warm for the default, not against it
    shapes = new_shapes(args.new_shapes, max_batch, generator)
    scoring = new_shape_rate(model, shapes, generator)
    every_backend = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
    with mock.patch.object(bert, "SCORING_ATTENTION_BACKENDS", every_backend):
        default = new_shape_rate(model, shapes, generator)
    print(json.dumps({
        "benchmark": "reward_throughput",
        "model": str(args.model),
        "input": model.input,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "dtype": str(next(model.model.parameters()).dtype),
        "tokens_per_pair": 64 if model.input == "pair" else 32,  # a model of the response alone reads [CLS] + 30 + [SEP]
        "pairs": n,
        "batch_size": model.batch_size,
        "fast_path_pairs_per_s": round(n / fast, 1),
        "text_path_pairs_per_s": round(n / text, 1),
        "fast_over_text": round(text / fast, 2),
        "new_shape_calls": args.new_shapes,
        "new_shape_pairs_per_s": round(scoring, 1),
        "new_shape_pairs_per_s_default_attention": round(default, 1),
        "scoring_over_default_attention": round(scoring / default, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
