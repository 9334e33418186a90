"""HappyBot from the command line: one subcommand per stage of the paper's experiment.

    python train.py data [--data-dir DIR]     corpus statistics as JSON

Without a subcommand, ``train.py`` runs the whole pipeline on the built-in default corpus. The
stages after ``data`` (reward models, policy pretraining, RL, evaluation, chat) are being built;
until they land, the pipeline is the ``data`` stage alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from happybot_env.data import CorpusFormatError, corpus_statistics, default_corpora, find_corpora


def run_data(args: argparse.Namespace) -> int:
    """Print, for each corpus split, what was read, what it yields and what was skipped."""
    sources = find_corpora(args.data_dir) if args.data_dir else default_corpora()
    report = {"data_dir": str(args.data_dir) if args.data_dir else None, "corpora": corpus_statistics(sources)}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stages = parser.add_subparsers(dest="stage", metavar="STAGE")
    data = stages.add_parser("data", help="corpus statistics as JSON", description=run_data.__doc__)
    data.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding the real corpora (see README); default: the built-in chit-chat corpus",
    )
    data.set_defaults(run=run_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.stage is None:  # the pipeline, which for now is the data stage on the default corpus
        args = build_parser().parse_args(["data"])
    try:
        return args.run(args)
    except (CorpusFormatError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
