"""Accuracy of a sentiment classifier and a look-ahead predictor on a data folder's validation sets.

    python scripts/score_reward_models.py --data-dir DATA [--classifier current] [--predictor lookahead]

Prints one JSON object: for each validation set, the examples, the accuracy (a score of 0.5 or more
reads as positive) and the majority-class rate, the same sets the training stages report. The
classifier is scored on SST-2 dev and the ED validation situations. The predictor's labels are the
classifier's scores of the held-out user turns, as ``train.py label`` makes them: give the
classifier whose labels the predictor learned (the shipped ``lookahead`` learned from a fully
fine-tuned classifier, ``train.py classifier --data-dir DATA``; the shipped ``current`` labels
differently). Use it to score a model again after the data changes, or to compare one of your own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

import reward_models
from happybot_env.data import dialogue_sources, find_corpora, held_out_sources
from reward_models.examples import classifier_data, lookahead_examples, user_turn_labels
from reward_models.bert import resolve_device
from reward_models.labelling import label_user_turns
from reward_models.training import LabelledText, majority_rate


def scores(model: reward_models.RewardModel, examples: list[LabelledText]) -> dict:
    positive = model([e.user for e in examples], [e.text for e in examples]) >= 0.5
    correct = int((positive.long().cpu() == torch.tensor([e.label for e in examples])).sum())
    return {"examples": len(examples), "accuracy": round(correct / len(examples), 4), "majority_class_rate": round(majority_rate(examples), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder holding the real corpora")
    parser.add_argument("--classifier", default="current", help="registered name or model folder (default: current)")
    parser.add_argument("--predictor", default="lookahead", help="registered name or model folder (default: lookahead)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    args = parser.parse_args()
    # refused here, not as a traceback after the first model has loaded
    if not args.data_dir.is_dir():
        parser.error(f"argument --data-dir: no folder at {args.data_dir}")
    for flag, spec in (("--classifier", args.classifier), ("--predictor", args.predictor)):
        try:
            reward_models.check_spec(spec)
        except reward_models.UnknownRewardModel as e:
            parser.error(f"argument {flag}: {e}")
    try:
        resolve_device(args.device)
    except ValueError as e:
        parser.error(f"argument --device: {e}")

    sources = find_corpora(args.data_dir)
    classifier = reward_models.make(args.classifier, device=args.device)
    predictor = reward_models.make(args.predictor, device=args.device)
    _, valid, _ = classifier_data(sources)
    report = {"classifier": args.classifier, "predictor": args.predictor, "classifier_accuracy": {}, "predictor_accuracy": {}}
    for name, examples in valid.items():
        report["classifier_accuracy"][name] = scores(classifier, examples)

    held_out = held_out_sources(dialogue_sources(sources))
    with tempfile.TemporaryDirectory() as folder:
        label_user_turns(held_out, classifier, Path(folder) / "labels.jsonl", quiet=True)
        labels = user_turn_labels(Path(folder) / "labels.jsonl")
    everything = []
    for source in held_out:
        if examples := list(lookahead_examples(source.read(), labels, source.corpus)):
            report["predictor_accuracy"][f"{source.corpus}_{source.split}"] = scores(predictor, examples)
            everything += examples
    if everything:
        report["predictor_accuracy"]["all_validation"] = scores(predictor, everything)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
