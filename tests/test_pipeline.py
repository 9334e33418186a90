"""The whole pipeline on the tiny preset, then evaluation's report and the chat, as a user meets them."""

import json
import subprocess
import sys

import pytest

from .conftest import FIXTURES, REPO_ROOT


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "pipeline", "--preset", "tiny", "--data-dir", str(FIXTURES),
         "--run", str(folder), "--device", "cpu", "--quiet"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return folder


def test_pipeline_trains_the_four_systems_and_reports(run):
    for system in ("seq2seq", "multiseq", "rl_current", "rl_lookahead"):
        assert (run / system / "policy" / "model.safetensors").is_file(), system
    results = json.loads((run / "results.json").read_text())
    assert set(results["systems"]) == {"Gold", "Seq2Seq", "MultiSeq", "RL Current", "RL Look-ahead"}
    for metrics in results["systems"].values():
        assert {"bleu", "distinct_1", "distinct_2", "average_length", "mean_current", "mean_lookahead", "mean_vader"} <= set(metrics)
        assert 0 <= metrics["mean_lookahead"] <= 1
    report = (run / "results.md").read_text()
    assert "| RL Look-ahead |" in report and "## Sample responses (Table 3)" in report
    assert (run / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tensorboard_holds_the_namespaced_curves_and_samples(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = {"scalars": set(), "tensors": set()}
    for events in run.glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        for kind in tags:
            tags[kind] |= set(accumulator.Tags()[kind])
    assert {"mle_seq2seq/mle_loss", "rl_lookahead/reward", "rl_lookahead/baseline_error", "rl_lookahead/entropy",
            "rl_lookahead/response_length", "rl_current/episodes_per_second"} <= tags["scalars"]
    assert {"rl_lookahead/samples/text_summary", "mle_seq2seq/hyperparameters/text_summary"} <= tags["tensors"]


def test_second_run_skips_finished_stages(run):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "pipeline", "--preset", "tiny", "--data-dir", str(FIXTURES),
         "--run", str(run), "--device", "cpu", "--quiet"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0
    assert result.stdout.count("done already") == 5


def test_chat_answers_and_exits_cleanly_on_eof(run):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "chat", "--run", str(run), "--preset", "tiny"],
        input="I lost my job today.\n", capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "bot> " in result.stdout and "your next turn is positive with probability" in result.stdout
