"""HappyBot from the command line: one subcommand per stage of the paper's experiment.

    python train.py data        [--data-dir DIR]   corpus statistics as JSON
    python train.py classifier   --data-dir DIR    sentiment classifier on SST-2 + ED situations
    python train.py label       [--data-dir DIR]   label every user turn (VADER on the default corpus)
    python train.py predictor   [--data-dir DIR]   look-ahead predictor on [u_i; s_i] -> label of u_i+1

Every stage writes into one run folder (``--run``, default ``runs/default``): models, labels,
``metrics.json`` and TensorBoard event files. Without a subcommand, ``train.py`` runs the whole
pipeline on the built-in default corpus; the policy, RL, evaluation and chat stages are being
built, and until they land the pipeline is the data stage.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from happybot_env.data import CorpusFormatError, corpus_statistics, default_corpora, find_corpora


def sources_for(args: argparse.Namespace):
    return find_corpora(args.data_dir) if args.data_dir else default_corpora()


def update_metrics(run: Path, stage: str, metrics: dict) -> None:
    """Merge one stage's figures into ``<run>/metrics.json``."""
    path = run / "metrics.json"
    everything = json.loads(path.read_text()) if path.is_file() else {}
    everything[stage] = metrics
    run.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(everything, indent=2) + "\n")
    tmp.replace(path)


def run_data(args: argparse.Namespace) -> int:
    """Print, for each corpus split, what was read, what it yields and what was skipped."""
    report = {"data_dir": str(args.data_dir) if args.data_dir else None, "corpora": corpus_statistics(sources_for(args))}
    print(json.dumps(report, indent=2))
    return 0


def fine_tune_config(args: argparse.Namespace, input: str):
    from reward_models.training import FineTuneConfig

    names = {f.name for f in fields(FineTuneConfig)} - {"input"}
    return FineTuneConfig(input=input, **{k: v for k, v in vars(args).items() if k in names})


def train_reward_model(args: argparse.Namespace, stage: str, train, valid, data: dict, licences: list[str]) -> int:
    from torch.utils.tensorboard import SummaryWriter

    from reward_models.training import fine_tune, majority_rate, metadata_for, save

    config = fine_tune_config(args, "response" if stage == "classifier" else "pair")
    with SummaryWriter(args.run) as writer:
        model, accuracies = fine_tune(train, valid, config, writer=writer, tag=stage, quiet=args.quiet)
    majority = {name: majority_rate(examples) for name, examples in valid.items()}
    metadata = metadata_for(stage, config, accuracies, majority, data, licences)
    save(model, args.run / stage, metadata)
    update_metrics(args.run, stage, {"accuracy": accuracies, "majority_class_rate": majority, "data": data})
    print(json.dumps({"saved": str(args.run / stage), "accuracy": accuracies, "majority_class_rate": majority}, indent=2))
    return 0


def run_classifier(args: argparse.Namespace) -> int:
    """Fine-tune the pretrained encoder into a sentiment classifier (the paper's BERT classifier)."""
    from reward_models.examples import LICENCES, classifier_data

    if not args.data_dir:
        raise FileNotFoundError(
            "the classifier trains on SST-2 and EmpatheticDialogues: give --data-dir "
            "(on the built-in corpus, user turns are labelled with VADER instead)"
        )
    train, valid, data = classifier_data(find_corpora(args.data_dir))
    return train_reward_model(args, "classifier", train, valid, data, [LICENCES["sst2"], LICENCES["empatheticdialogues"]])


def run_label(args: argparse.Namespace) -> int:
    """Label every user turn of the dialogue corpora with the classifier (VADER on the default corpus)."""
    import reward_models
    from reward_models.examples import dialogue_sources
    from reward_models.labelling import label_user_turns

    classifier_spec = args.classifier or ("current" if args.data_dir else "vader")
    classifier = reward_models.make(classifier_spec, **({"device": args.device} if classifier_spec != "vader" else {}))
    counts = label_user_turns(dialogue_sources(sources_for(args)), classifier, args.run / "labels.jsonl", quiet=args.quiet)
    update_metrics(args.run, "label", {"classifier": str(classifier_spec), "user_turns": counts})
    print(json.dumps({"saved": str(args.run / "labels.jsonl"), "classifier": str(classifier_spec), "user_turns": counts}, indent=2))
    return 0


def run_predictor(args: argparse.Namespace) -> int:
    """Fine-tune the look-ahead predictor: [u_i; s_i] -> the sentiment label of u_i+1."""
    from reward_models.examples import LICENCES, dialogue_sources, predictor_data, user_turn_labels

    labels_path = args.labels or args.run / "labels.jsonl"
    if not Path(labels_path).is_file():
        raise FileNotFoundError(f"no labels at {labels_path}: run `train.py label` first, or pass --labels")
    sources = dialogue_sources(sources_for(args))
    train, valid, data = predictor_data(sources, user_turn_labels(labels_path))
    data["labels"] = str(labels_path)
    licences = sorted({LICENCES[s.corpus] for s in sources})
    return train_reward_model(args, "predictor", train, valid, data, licences)


def add_common(parser: argparse.ArgumentParser, data_required: bool = False) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=None, required=data_required,
        help="folder holding the real corpora (see README); default: the built-in chit-chat corpus",
    )
    parser.add_argument("--run", type=Path, default=Path("runs/default"), help="the run folder (default: runs/default)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_fine_tune(parser: argparse.ArgumentParser, lr: float) -> None:
    parser.add_argument("--lora-rank", type=int, default=0, help="0: fine-tune every weight; >0: a LoRA adapter of this rank")
    parser.add_argument("--epochs", type=float, default=1.0, help="passes over the training set (default: 1)")
    parser.add_argument("--learning-rate", type=float, default=lr, help=f"peak AdamW learning rate (default: {lr})")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128, help="tokens per input (default: 128)")
    parser.add_argument("--eval-every", type=int, default=1000, help="steps between evaluations (default: 1000)")
    parser.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stages = parser.add_subparsers(dest="stage", metavar="STAGE")

    data = stages.add_parser("data", help="corpus statistics as JSON", description=run_data.__doc__)
    add_common(data)
    data.set_defaults(run_stage=run_data)

    classifier = stages.add_parser("classifier", help="train the sentiment classifier", description=run_classifier.__doc__)
    add_common(classifier)
    add_fine_tune(classifier, lr=5e-5)
    classifier.set_defaults(run_stage=run_classifier)

    label = stages.add_parser("label", help="label the user turns", description=run_label.__doc__)
    add_common(label)
    label.add_argument(
        "--classifier", default=None,
        help="a reward model name or folder (default: vader on the built-in corpus, current with --data-dir)",
    )
    label.set_defaults(run_stage=run_label)

    predictor = stages.add_parser("predictor", help="train the look-ahead predictor", description=run_predictor.__doc__)
    add_common(predictor)
    add_fine_tune(predictor, lr=5e-5)
    predictor.add_argument("--labels", type=Path, default=None, help="labels file (default: <run>/labels.jsonl)")
    predictor.set_defaults(run_stage=run_predictor)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.stage is None:  # the pipeline, which for now is the data stage on the default corpus
        args = parser.parse_args(["data"])
    try:
        return args.run_stage(args)
    except (CorpusFormatError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
