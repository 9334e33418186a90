"""The whole pipeline on the tiny preset, then evaluation's report and the chat, as a user meets them."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from .conftest import FIXTURES, REPO_ROOT


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "pipeline", "--preset", "tiny", "--data-dir", str(FIXTURES),
         "--run", str(folder), "--device", "cpu", "--quiet", "--rl-updates", "3",  # the tiny preset says 2
         "--rl-learning-rate", "3e-4", "--rl-weight", "0.5"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "it/s]" not in result.stderr + result.stdout, "--quiet still drew a progress bar:\n" + result.stderr
    return folder


def test_pipeline_trains_the_four_systems_and_reports(run):
    from agents.evaluation import as_written_by_a_policy, distinct

    for system in ("seq2seq", "multiseq", "rl_current", "rl_lookahead"):
        assert (run / system / "policy" / "model.safetensors").is_file(), system
    results = json.loads((run / "results.json").read_text())
    assert set(results["systems"]) == {"Gold", "Seq2Seq", "MultiSeq", "RL Current", "RL Look-ahead"}
    for metrics in results["systems"].values():
        assert {"bleu", "distinct_1", "distinct_2", "average_length", "mean_current", "mean_lookahead", "mean_vader"} <= set(metrics)
        assert 0 <= metrics["mean_lookahead"] <= 1
    gold = as_written_by_a_policy(results["responses"]["gold"])
    assert gold != results["responses"]["gold"]  # the fixtures have capitals, which the policies cannot write
    assert results["systems"]["Gold"]["distinct_1"] == round(distinct(gold, 1), 4)  # so Gold is counted as a policy writes
    scores = results["lookahead_scores"]
    assert set(scores) == set(results["systems"]) and all(len(s) == results["examples"] for s in scores.values())
    assert all(abs(sum(scores[n]) / len(scores[n]) - m["mean_lookahead"]) < 1e-3 for n, m in results["systems"].items())
    report = (run / "results.md").read_text()
    assert "| RL Look-ahead |" in report and "## Sample responses (Table 3)" in report
    assert "| highest mean lookahead reward of the four systems |" in report and "(paired standard error)" in report
    assert (run / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_policy_that_writes_exactly_the_gold_tokens_scores_bleu_100():
    """The policies' decoded WordPiece spaces hyphens, colons and decimal points: against the raw gold
    texts, lowercased, writing the very gold tokens scored below 100."""
    from agents.evaluation import as_written_by_a_policy, text_metrics
    from happybot_env.tokenizer import load_tokenizer, uncut_ids

    gold = ["It's well-known: 3.5 stars!", "Café au lait, s'il vous plaît.", "I'm SO happy for you :-)"]
    written = load_tokenizer().batch_decode(uncut_ids(gold), skip_special_tokens=True)  # what respond() returns for them
    assert text_metrics([g.lower() for g in written], [g.lower() for g in gold])["bleu"] < 100  # the old comparison
    assert text_metrics(as_written_by_a_policy(written), as_written_by_a_policy(gold))["bleu"] == 100


def test_distinct_n_length_and_repetition_by_hand():
    from agents.evaluation import text_metrics

    metrics = text_metrics(["a b a", "a b", "a b", "a b"], ["a b"] * 4)
    # 9 words of 2 kinds; 5 bigrams of 2 kinds, (a, b) and (b, a); 2 different responses among 4
    assert (metrics["distinct_1"], metrics["distinct_2"]) == (round(2 / 9, 4), 0.4)
    assert (metrics["average_length"], metrics["repeated_responses"]) == (2.25, 0.5)
    assert metrics["most_frequent"] == [["a b", 3], ["a b a", 1]]


def test_expected_outcome_checks_the_papers_three_claims():
    from agents.evaluation import expected_outcome

    def system(lookahead, bleu, distinct_2):
        return {"mean_lookahead": lookahead, "bleu": bleu, "distinct_2": distinct_2}

    systems = {"Gold": system(0.9, 100, 0.8), "Seq2Seq": system(0.5, 2.0, 0.10), "MultiSeq": system(0.55, 2.1, 0.12),
               "RL Current": system(0.6, 1.9, 0.09), "RL Look-ahead": system(0.7, 1.85, 0.10)}
    assert [holds for _, _, holds in expected_outcome(systems)] == [True, True, True]  # Gold is not a system
    # per-context scores give the difference from the runner-up and its paired standard error
    scores = {"RL Look-ahead": [0.6, 0.8], "RL Current": [0.5, 0.5], "Gold": [1.0, 1.0]}
    assert expected_outcome(systems, scores)[0][1] == (
        "RL Look-ahead 0.7; best RL Look-ahead 0.7; against RL Current +0.2000 ± 0.1000 (paired standard error)")
    # a policy that games its reward: the best reward, one phrase, no overlap with the gold responses
    systems["RL Look-ahead"] = system(0.95, 1.7, 0.02)
    assert [holds for _, _, holds in expected_outcome(systems)] == [True, False, False]
    systems["RL Current"] = system(0.96, 2.0, 0.2)
    assert expected_outcome(systems)[0] == ("highest mean lookahead reward of the four systems",
                                            "RL Look-ahead 0.95; best RL Current 0.96", False)
    del systems["MultiSeq"]
    assert expected_outcome(systems) == []


def test_positive_to_negative_counts_cheerful_replies_to_negative_user_turns(run):
    from agents.evaluation import positive_to_negative

    users = torch.tensor([0.1, 0.2, 0.3, 0.9])  # three negative user turns, one positive
    replies = torch.tensor([0.8, 0.4, 0.6, 0.9])
    assert positive_to_negative(users, replies) == round(2 / 3, 4)  # the positive user's cheerful reply does not count
    assert positive_to_negative(torch.tensor([0.7, 0.9]), replies[:2]) is None
    systems = json.loads((run / "results.json").read_text())["systems"]
    assert all(0 <= metrics["positive_to_negative"] <= 1 for metrics in systems.values())
    assert "| positive to negative |" in (run / "results.md").read_text()


def test_positive_to_negative_reads_the_current_classifier_on_user_turns_and_on_replies(tmp_path):
    import reward_models
    from agents.evaluation import evaluate
    from agents.policy_data import PolicyData

    positive = {"I lost my job.": 0.1, "My cat is sick.": 0.2, "I won!": 0.9, "That is wonderful!": 0.9, "Oh no.": 0.1, "Great!": 0.9}
    users, replies = ["I lost my job.", "My cat is sick.", "I won!"], ["That is wonderful!", "Oh no.", "Great!"]
    scorers = {
        "current": reward_models.make(lambda users, texts: [positive[t] for t in texts]),
        "lookahead": reward_models.make(lambda users, texts: [0.2] * len(texts)),  # would call every reply negative
    }
    ids = torch.ones(3, 4, dtype=torch.long)
    data = PolicyData(ids, ids, torch.zeros(3, dtype=torch.long), users, replies)
    results = evaluate(tmp_path, data, 4, scorers, torch.device("cpu"))  # no policy in tmp_path: Gold alone
    assert results["systems"]["Gold"]["positive_to_negative"] == 0.5  # two negative users, one cheerful reply


def test_the_pipelines_size_flags_reach_its_stages(run):
    metrics = json.loads((run / "metrics.json").read_text())
    assert [len(metrics[name]["reward_history"]) for name in ("rl_current", "rl_lookahead")] == [3, 3]
    assert [metrics[name]["learning_rate"] for name in ("rl_current", "rl_lookahead")] == [3e-4, 3e-4]
    assert [metrics[name]["rl_weight"] for name in ("rl_current", "rl_lookahead")] == [0.5, 0.5]


def test_report_says_how_it_was_made(run):
    record = json.loads((run / "metrics.json").read_text())["pipeline"]
    stages = ["mle seq2seq", "mle multiseq", "rl current", "rl lookahead", "evaluate"]
    assert list(record["wall_seconds"]) == stages and all(t > 0 for t in record["wall_seconds"].values())
    assert record["total_seconds"] == pytest.approx(sum(record["wall_seconds"].values()), abs=0.2)
    assert record["seed"] == 0 and record["preset"] == "tiny" and record["sizes"]["rl_updates"] == 3
    assert record["sizes"]["rl_learning_rate"] == 3e-4 and record["sizes"]["rl_weight"] == 0.5
    assert set(record["stage_sizes"]) == {"seq2seq", "multiseq", "rl_current", "rl_lookahead"}
    assert record["stage_sizes"]["rl_lookahead"]["rl_updates"] == 3 and record["stage_sizes"]["seq2seq"]["mle_steps"] == 4
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert "CPU cores" in record["hardware"] and record["commit"].startswith(head.stdout[:12] if head.returncode == 0 else "unknown")
    report = (run / "results.md").read_text()
    assert "## Run" in report and f"| total | {record['total_seconds']} |" in report
    assert all(f"| {stage} | {record['wall_seconds'][stage]} |" in report for stage in stages)
    assert "trained with other sizes" not in report  # one invocation trained every stage


def test_evaluating_again_keeps_the_record_and_says_so(run, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    result = subprocess.run(  # no --preset: the run remembers it was tiny
        [sys.executable, str(REPO_ROOT / "train.py"), "evaluate", "--data-dir", str(FIXTURES),
         "--run", str(copy), "--device", "cpu", "--quiet"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    report = (copy / "results.md").read_text()
    assert "## Run" in report and "- command: `python " in report and " pipeline " in report
    assert "Evaluated again by `python " in report and " evaluate " in report.split("Evaluated again by")[1].split("\n")[0]


def test_a_policy_extended_after_evaluation_is_evaluated_again_and_seq2seq_under_rl_is_kept(run, tmp_path):
    copy = shutil.copytree(run, tmp_path / "run")

    def train(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(REPO_ROOT / "train.py"), *argv, "--run", str(copy), "--device", "cpu", "--quiet"],
                              capture_output=True, text=True)

    longer = train("rl", "--reward", "lookahead", "--resume", "--rl-updates", "4", "--rl-learning-rate", "3e-4", "--rl-weight", "0.5")
    assert longer.returncode == 0, longer.stderr
    assert f"{copy / 'results.md'} predates this policy" in longer.stdout
    seq2seq = train("mle", "--model", "seq2seq", "--resume", "--mle-steps", "9")
    assert seq2seq.returncode == 2 and f"{copy / 'rl_current'}, {copy / 'rl_lookahead'} started from" in seq2seq.stderr

    again = train("pipeline", "--rl-updates", "4", "--rl-learning-rate", "3e-4", "--rl-weight", "0.5")
    assert again.returncode == 0, again.stderr
    assert f"{copy / 'results.md'} predates {copy / 'rl_lookahead' / 'policy'}: evaluating again" in again.stdout
    assert (copy / "results.md").stat().st_mtime > (copy / "rl_lookahead" / "policy").stat().st_mtime
    # the record's sizes are this invocation's: the report says which policy was trained otherwise
    report = (copy / "results.md").read_text()
    assert "rl_updates=4" in report.split("- seed: ")[1].split("\n")[0]
    assert "- rl_current was trained with other sizes: rl_updates=3\n" in report and "- rl_lookahead was" not in report
    unchanged = train("pipeline", "--rl-updates", "9")
    assert "--rl-updates changed nothing: a finished stage is extended by its own command" in unchanged.stdout


def test_evaluate_and_chat_score_on_the_device_given(run, tmp_path, monkeypatch):
    import reward_models
    import train

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    make, devices = reward_models.make, {}

    def recording_make(spec, **kwargs):
        devices[str(spec)] = kwargs.get("device", "auto")
        return make(spec, **kwargs)

    monkeypatch.setattr(reward_models, "make", recording_make)
    assert train.main(["evaluate", "--run", str(copy), "--device", "cpu"]) == 0
    assert devices == {"current": torch.device("cpu"), "lookahead": torch.device("cpu"), "vader": "auto"}
    devices.clear()
    monkeypatch.setattr("builtins.input", lambda prompt: (_ for _ in ()).throw(EOFError))
    assert train.main(["chat", "--run", str(copy), "--device", "cpu"]) == 0
    assert devices == {"lookahead": torch.device("cpu")}


def test_a_run_remembers_its_preset_and_data_folder(tmp_path):
    import train

    run = tmp_path / "run"
    train.open_run(train.build_parser().parse_args(["evaluate", "--run", str(run), "--preset", "tiny", "--data-dir", str(FIXTURES)]))
    later = train.build_parser().parse_args(["evaluate", "--run", str(run)])
    train.remember_run(later)
    train.open_run(later)
    assert train.preset_of(later) == train.PRESETS["tiny"]
    assert later.data_dir.resolve() == FIXTURES.resolve() and train.corpus_of(later) == later.data_dir


def test_a_run_whose_data_folder_is_gone_still_chats_and_says_which_folder_the_other_stages_lack(run, tmp_path, monkeypatch, capsys):
    """Giving another --data-dir is refused (a run is tied to its data), so the only remedy is to put the
    corpora back; chat reads none, so it works meanwhile."""
    import train

    data, copy = tmp_path / "data", tmp_path / "run"
    shutil.copytree(FIXTURES, data)
    shutil.copytree(run, copy)
    made = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**made, "data_dir": str(data.resolve())}))
    shutil.rmtree(data)
    assert train.main(["evaluate", "--run", str(copy), "--device", "cpu"]) == 2
    assert f"data directory {data.resolve()} does not exist" in capsys.readouterr().err
    monkeypatch.setattr("builtins.input", lambda prompt: (_ for _ in ()).throw(EOFError))
    assert train.main(["chat", "--run", str(copy), "--device", "cpu"]) == 0
    assert "HappyBot (rl_lookahead)" in capsys.readouterr().out


def test_a_run_refuses_another_preset(run):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "evaluate", "--preset", "small", "--data-dir", str(FIXTURES),
         "--run", str(run), "--device", "cpu"],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert f"{run} holds a run of the tiny preset: drop --preset small, or use another --run" in result.stderr


def test_tensorboard_holds_the_namespaced_curves_and_samples(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = {"scalars": set(), "tensors": set()}
    for events in run.glob("tensorboard/*/events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        for kind in tags:
            tags[kind] |= set(accumulator.Tags()[kind])
    assert {"mle_seq2seq/mle_loss", "rl_lookahead/reward", "rl_lookahead/baseline_error", "rl_lookahead/entropy",
            "rl_lookahead/response_length", "rl_current/episodes_per_second"} <= tags["scalars"]
    assert {"rl_lookahead/samples/text_summary", "mle_seq2seq/hyperparameters/text_summary"} <= tags["tensors"]


def test_second_run_skips_finished_stages_and_keeps_their_record(run):
    """Without the first run's size flags: a command that trained nothing must not sign the record
    with its own command and sizes."""
    before, report = json.loads((run / "metrics.json").read_text())["pipeline"], (run / "results.md").read_text()
    command = [sys.executable, str(REPO_ROOT / "train.py"), "pipeline", "--preset", "tiny", "--data-dir", str(FIXTURES),
               "--run", str(run), "--device", "cpu", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.count("done already") == 5 and "its record are unchanged" in result.stdout
    assert json.loads((run / "metrics.json").read_text())["pipeline"] == before and (run / "results.md").read_text() == report
    other_seed = subprocess.run([*command, "--seed", "7"], capture_output=True, text=True)
    assert other_seed.returncode == 2 and f"{run} holds a run with seed 0: drop --seed 7" in other_seed.stderr


def test_a_stage_resumed_after_a_kill_adds_the_seconds_its_checkpoint_holds(run, tmp_path):
    """A pipeline split over several invocations (a GPU lent ten minutes at a time, say) must still
    report what each stage took, not only what its last invocation did."""
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    # as if RL Look-ahead had been killed after its last checkpoint, 1000 s into the stage
    shutil.rmtree(copy / "rl_lookahead" / "policy")
    checkpoint = copy / "rl_lookahead" / "checkpoint.pt"
    torch.save(torch.load(checkpoint, weights_only=True) | {"seconds": 1000.0}, checkpoint)
    before = json.loads((copy / "metrics.json").read_text())["pipeline"]["wall_seconds"]
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "pipeline", "--run", str(copy), "--device", "cpu", "--quiet", "--resume",
         "--rl-updates", "3", "--rl-learning-rate", "3e-4", "--rl-weight", "0.5"],  # the settings the run was made with
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    after = json.loads((copy / "metrics.json").read_text())["pipeline"]
    assert 1000 < after["wall_seconds"].pop("rl lookahead") < 1000 + 120
    assert after["wall_seconds"].pop("evaluate") > 0  # the report predated the finished policy: evaluated again
    assert after["wall_seconds"] == {stage: t for stage, t in before.items() if stage not in ("rl lookahead", "evaluate")}
    assert after["total_seconds"] > 1000


def test_a_stage_run_before_the_pipeline_is_reported_untimed_not_left_out(run, tmp_path):
    """The total is the pipeline's wall time: a stage made by its own command beforehand is not in it,
    and the record must say so rather than pass a partial total for the whole."""
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    del metrics["pipeline"]["wall_seconds"]["mle seq2seq"]  # as if `train.py mle` had made it
    (copy / "metrics.json").write_text(json.dumps(metrics))
    (copy / "results.md").unlink()  # so that evaluation runs again
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "pipeline", "--run", str(copy), "--device", "cpu", "--quiet",
         "--rl-updates", "3", "--rl-learning-rate", "3e-4", "--rl-weight", "0.5"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "(not counting mle seq2seq, run before the pipeline)" in result.stdout
    record = json.loads((copy / "metrics.json").read_text())["pipeline"]
    assert record["untimed_stages"] == ["mle seq2seq"] and "mle seq2seq" not in record["wall_seconds"]
    report = (copy / "results.md").read_text()
    assert "| mle seq2seq | not timed: run before the pipeline |" in report
    assert f"| total of the timed stages | {record['total_seconds']} |" in report


def test_a_report_that_fails_midway_leaves_the_previous_one_whole(run, tmp_path, monkeypatch):
    """The pipeline reads results.md as evaluation's end: it is written last, and whole or not at all."""
    from agents import evaluation

    copy = shutil.copytree(run, tmp_path / "run")
    before = (copy / "results.md").read_text()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evaluation, "plot_rewards", disk_full)
    with pytest.raises(OSError, match="No space left"):
        evaluation.write_report(json.loads((copy / "results.json").read_text()), copy, {})
    assert (copy / "results.md").read_text() == before
    monkeypatch.setattr(evaluation, "plot_rewards", lambda history, path: None)
    monkeypatch.setattr(os, "fsync", disk_full)  # the disk fills while the report itself is written
    with pytest.raises(OSError, match="No space left"):
        evaluation.write_report(json.loads((copy / "results.json").read_text()), copy, {})
    assert (copy / "results.md").read_text() == before


def test_chat_answers_and_exits_cleanly_on_eof(run):
    # a zero-width space is a line the vocabulary reads as nothing: skipped, as an empty one
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "chat", "--run", str(run), "--preset", "tiny"],
        input="\u200b\n\nI lost my job today.\n", capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("bot> ") == 1 and "your next turn is positive with probability" in result.stdout


def test_chat_refuses_a_preset_other_than_the_runs(run):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "chat", "--run", str(run), "--preset", "small"],
        input="hello\n", capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and f"{run} holds a run of the tiny preset" in result.stderr
