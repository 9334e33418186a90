"""`train.py compare`: runs of one experiment side by side, with their spread and the claims run by run."""

import json

import pytest

import train
from agents.comparison import compare
from agents.evaluation import COLUMNS


def results(lookahead: dict[str, float], bleu: float = 2.0, users=("I lost my job.", "We won!")) -> dict:
    """results.json of a run whose systems differ only in their mean lookahead reward (and RL Look-ahead's BLEU)."""
    systems = {}
    for name, value in lookahead.items():
        systems[name] = {key: 0.5 for key, _ in COLUMNS} | {"mean_lookahead": value, "bleu": 2.0, "distinct_2": 0.1}
    systems["RL Look-ahead"]["bleu"] = bleu
    return {"examples": len(users), "users": list(users), "systems": systems}


def rewards(rl_lookahead: float) -> dict[str, float]:
    return {"Gold": 0.6, "Seq2Seq": 0.60, "MultiSeq": 0.62, "RL Current": 0.64, "RL Look-ahead": rl_lookahead}


def test_compare_gives_mean_and_spread_and_the_claims_run_by_run():
    report = compare({"a (seed 0)": results(rewards(0.70)), "b (seed 1)": results(rewards(0.60), bleu=1.0)})
    assert "- run 1: a (seed 0)" in report and "- run 2: b (seed 1)" in report
    # 0.70 and 0.60: mean 0.65, sample standard deviation 0.0707; the other columns do not vary
    assert "| RL Look-ahead | 1.50 ± 0.71 | 0.5000 ± 0.0000 |" in report and "| 0.6500 ± 0.0707 |" in report
    assert "| highest mean lookahead reward of the four systems | yes | **no** | 1 of 2 |" in report
    assert "| BLEU within 10% of Seq2Seq's | yes | **no** | 1 of 2 |" in report
    # margins over the best other system (RL Current, 0.64): +0.06 and -0.04; standard error 0.05
    assert "+0.0100 ± 0.0500 (standard error over the runs); run by run +0.0600, -0.0400." in report


def test_one_run_has_no_spread():
    report = compare({"a": results(rewards(0.70))})
    assert "| Seq2Seq | 2.00 | 0.5000 |" in report and "run by run +0.0600." in report
    assert "(Table 2), one run" in report and "±" not in report


def test_the_margin_comes_from_the_per_context_scores_as_in_results_md():
    run = results(rewards(0.70))  # Table 2's rounded means: 0.7000 against RL Current's 0.6400
    run["lookahead_scores"] = {"RL Look-ahead": [0.7002, 0.7000], "RL Current": [0.6400, 0.6400]}
    assert "run by run +0.0601." in compare({"a": run})


def test_runs_without_all_four_systems_leave_the_claims_out():
    partial = rewards(0.70)
    del partial["RL Current"]
    report = compare({"a": results(partial), "b": results(partial)})
    assert "| RL Look-ahead |" in report and "expected outcome" not in report


def test_runs_on_other_contexts_are_refused():
    with pytest.raises(ValueError, match="b answered other held-out contexts than a"):
        compare({"a": results(rewards(0.7)), "b": results(rewards(0.7), users=("Hello.", "Bye."))})


def test_compare_command_reads_run_folders_and_names_their_seeds(tmp_path, capsys, monkeypatch):
    for seed, value in ((0, 0.70), (1, 0.66)):
        folder = tmp_path / f"seed-{seed}"
        folder.mkdir()
        (folder / "results.json").write_text(json.dumps(results(rewards(value))))
        (folder / "metrics.json").write_text(json.dumps({"pipeline": {"seed": seed}}))
    assert train.main(["compare", str(tmp_path / "seed-0"), str(tmp_path / "seed-1")]) == 0
    report = capsys.readouterr().out
    assert f"- run 2: {tmp_path / 'seed-1'} (seed 1)" in report and "| 2 of 2 |" in report
    (tmp_path / "unevaluated").mkdir()
    assert train.main(["compare", str(tmp_path / "seed-0"), str(tmp_path / "unevaluated")]) == 2
    assert f"{tmp_path / 'unevaluated' / 'results.json'} does not exist" in capsys.readouterr().err
    assert train.main(["compare", str(tmp_path / "nope")]) == 2
    assert f"no run folder at {tmp_path / 'nope'}" in capsys.readouterr().err
    assert train.main(["compare", str(tmp_path / "seed-0" / "results.json")]) == 0  # the file names its run
    assert f"- run 1: {tmp_path / 'seed-0'} (seed 0)" in capsys.readouterr().out
    assert train.main(["compare", str(tmp_path / "seed-0"), str(tmp_path / "seed-0")]) == 2
    assert f"{tmp_path / 'seed-0'} is given twice: give each run once" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # the same folder, spelt another way
    assert train.main(["compare", "seed-0", str(tmp_path / "seed-0")]) == 2
    assert "is given twice" in capsys.readouterr().err
    copy = tmp_path / "copy-of-seed-1"
    copy.mkdir()
    (copy / "results.json").write_text((tmp_path / "seed-1" / "results.json").read_text())
    (copy / "run.json").write_text(json.dumps({"seed": 1}))  # a run whose stages ran by hand keeps its seed there
    assert train.main(["compare", str(tmp_path / "seed-1"), str(copy)]) == 2
    assert f"{tmp_path / 'seed-1'} and {copy} are both runs with seed 1: compare runs of different seeds" in capsys.readouterr().err
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "results.json").write_text('{"foo": 1}')
    assert train.main(["compare", str(tmp_path / "seed-0"), str(tmp_path / "foreign")]) == 2
    assert f"{tmp_path / 'foreign' / 'results.json'} is not a HappyBot evaluation: its field 'systems'" in capsys.readouterr().err
    partial = json.loads((tmp_path / "seed-1" / "results.json").read_text())
    del partial["systems"]["Seq2Seq"]["distinct_2"]
    (tmp_path / "foreign" / "results.json").write_text(json.dumps(partial))
    assert train.main(["compare", str(tmp_path / "seed-0"), str(tmp_path / "foreign")]) == 2
    assert f"{tmp_path / 'foreign' / 'results.json'}: system 'Seq2Seq' lacks a number for one of bleu, distinct_2" in capsys.readouterr().err
    del partial["examples"]
    (tmp_path / "foreign" / "results.json").write_text(json.dumps(partial))
    assert train.main(["compare", str(tmp_path / "seed-0"), str(tmp_path / "foreign")]) == 2
    assert "its field 'examples' is missing or not a JSON int" in capsys.readouterr().err


def test_a_column_that_an_older_run_lacks_is_left_empty():
    older = results(rewards(0.70))
    for metrics in older["systems"].values():
        del metrics["positive_to_negative"]
    report = compare({"a": results(rewards(0.70)), "b": older})
    assert "| 0.5000 ± 0.0000 |  | 0.5000 ± 0.0000 |" in report  # repeated, (positive to negative), current
