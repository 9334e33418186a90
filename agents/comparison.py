"""Several runs of one experiment side by side: Table 2 as mean ± standard deviation over the runs,
and the paper's claims about RL Look-ahead run by run.

One run cannot settle the claims at small scale: a policy's greedy ``lookahead`` score moves by 0.02
to 0.04 between checkpoints 50 updates apart (docs/RESULTS.md), as much as the gaps between the
systems, and the paired standard error of one run covers only the choice of contexts. Repeating the
experiment with other seeds (``train.py pipeline --seed K --run runs/seed-K``) and comparing the runs
(``train.py compare runs/seed-*``) shows the spread that one table hides.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from happybot_env.atomic import read_json_object

from .evaluation import COLUMNS, SYSTEMS, best_rival, expected_outcome

CLAIMED = ("bleu", "distinct_2", "mean_lookahead")
"""The figures of each system that the paper's claims and the margin read."""


def load_run(folder: Path) -> tuple[Path, dict, int | None]:
    """The run folder (given, or holding the given ``results.json``), its evaluation results, and its
    seed: the one its ``run.json`` keeps, else its pipeline record's (None without either)."""
    if folder.name == "results.json" and folder.is_file():  # the file itself was named: its folder is the run
        folder = folder.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"no run folder at {folder}")
    path = folder / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `train.py evaluate --run {folder}` first")
    results = read_json_object(path)
    for key, kind in (("systems", dict), ("users", list), ("examples", int)):
        if not isinstance(results.get(key), kind):
            raise ValueError(f"{path} is not a HappyBot evaluation: its field {key!r} is missing or not a JSON {kind.__name__}")
    for system, metrics in results["systems"].items():  # what the claims read; other columns may be missing in older runs
        if not isinstance(metrics, dict) or not all(_is_number(metrics.get(key)) for key in CLAIMED):
            raise ValueError(f"{path}: system {system!r} lacks a number for one of {', '.join(CLAIMED)}")
    made, metrics = folder / "run.json", folder / "metrics.json"
    record = read_json_object(metrics).get("pipeline", {}) if metrics.is_file() else {}
    seed = read_json_object(made).get("seed") if made.is_file() else None
    return folder, results, record.get("seed") if seed is None else seed


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def spread(values: list[float], digits: int) -> str:
    """``mean ± sample standard deviation``, or the mean alone for one value."""
    mean = f"{statistics.mean(values):.{digits}f}"
    return f"{mean} ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else mean


def lookahead_margin(results: dict) -> float:
    """RL Look-ahead's mean ``lookahead`` reward minus the best of the three other systems'.

    From the per-context scores when the run kept them, as ``results.md``'s paired difference is,
    so that the two reports agree to the last digit; else from the rounded means of Table 2.
    """
    systems, scores = results["systems"], results.get("lookahead_scores", {})
    rival = best_rival(systems)
    if {"RL Look-ahead", rival} <= set(scores):
        return statistics.mean(scores["RL Look-ahead"]) - statistics.mean(scores[rival])
    return systems["RL Look-ahead"]["mean_lookahead"] - systems[rival]["mean_lookahead"]


def compare(runs: dict[str, dict]) -> str:
    """A Markdown report on ``{name: results.json contents}`` of runs answering the same contexts."""
    names = list(runs)
    first = runs[names[0]]
    for name in names[1:]:
        if runs[name]["users"] != first["users"]:
            raise ValueError(f"{name} answered other held-out contexts than {names[0]}: compare runs of one experiment")
    systems = [s for s in first["systems"] if all(s in results["systems"] for results in runs.values())]
    lines = [f"# HappyBot: {len(runs)} run{'s' if len(runs) > 1 else ''} compared ({first['examples']} held-out contexts each)", ""]
    lines += [f"- run {i}: {name}" for i, name in enumerate(names, 1)]
    over = f"mean ± standard deviation over {len(runs)} runs" if len(runs) > 1 else "one run"
    lines += ["", f"## Automatic metrics (Table 2), {over}", ""]
    lines.append("| system | " + " | ".join(title for _, title in COLUMNS) + " |")
    lines.append("|---" * (len(COLUMNS) + 1) + "|")
    for system in systems:
        cells = []
        for key, _ in COLUMNS:
            values = [results["systems"][system].get(key) for results in runs.values()]
            cells.append("" if None in values else spread(values, 2 if key == "bleu" else 4))  # older runs lack a column
        lines.append(f"| {system} | " + " | ".join(cells) + " |")

    complete = {name: results for name, results in runs.items() if set(SYSTEMS.values()) <= set(results["systems"])}
    if complete:
        claims = {name: expected_outcome(results["systems"]) for name, results in complete.items()}
        lines += ["", "## The paper's expected outcome for RL Look-ahead, run by run", "",
                  "| claim | " + " | ".join(f"run {names.index(name) + 1}" for name in complete) + " | holds in |", "|---" * (len(complete) + 2) + "|"]
        for i, (claim, _, _) in enumerate(next(iter(claims.values()))):
            holds = [outcome[i][2] for outcome in claims.values()]
            lines.append(f"| {claim} | " + " | ".join("yes" if h else "**no**" for h in holds)
                         + f" | {sum(holds)} of {len(holds)} |")
        margins = [lookahead_margin(results) for results in complete.values()]
        error = f" ± {statistics.stdev(margins) / len(margins) ** 0.5:.4f} (standard error over the runs)" if len(margins) > 1 else ""
        lines += ["", f"RL Look-ahead's mean lookahead reward minus the best other system's: "
                  f"{statistics.mean(margins):+.4f}{error}; run by run " + ", ".join(f"{m:+.4f}" for m in margins) + "."]
    return "\n".join(lines) + "\n"
