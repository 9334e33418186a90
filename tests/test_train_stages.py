"""train.py's policy stages on the tiny preset: outputs, resume after SIGKILL, reproducibility, bad input."""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from happybot_env.atomic import atomic_directory, atomic_file, read_json_object, write_json
from happybot_env.checkpoint import CheckpointError, checkpoint_seconds, load_checkpoint, save_checkpoint

from .conftest import FIXTURES, REPO_ROOT

TINY = ["--preset", "tiny", "--data-dir", str(FIXTURES), "--device", "cpu", "--quiet"]


def train(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "train.py"), *args], capture_output=True, text=True, **kwargs)


def weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "policy" / "model.safetensors"))


def test_mle_writes_policy_checkpoint_metrics_and_tensorboard(tmp_path):
    result = train("mle", "--model", "multiseq", "--run", str(tmp_path), *TINY)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "multiseq" / "policy" / "model.safetensors").is_file()
    assert (tmp_path / "multiseq" / "checkpoint.pt").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text())["multiseq"]["steps"] == 4
    assert list((tmp_path / "tensorboard" / "mle_multiseq").glob("events.out.tfevents.*"))


def test_same_seed_same_run_and_another_seed_another_run(tmp_path):
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert train("mle", "--run", str(tmp_path / name), "--seed", seed, *TINY).returncode == 0
    a, b, c = (weights(tmp_path / name / "seq2seq") for name in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    metrics = [json.loads((tmp_path / n / "metrics.json").read_text())["seq2seq"] for n in ("a", "b")]
    assert metrics[0] == metrics[1]


def kill_once_checkpointed(argv: list[str], checkpoint, step: int) -> int:
    """Run ``train.py argv``, SIGKILL it once ``checkpoint`` holds ``step`` or later; the step it holds then."""
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "train.py"), *argv],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (checkpoint.exists() and torch.load(checkpoint, weights_only=True)["step"] >= step):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return torch.load(checkpoint, weights_only=True)["step"]


def events_files(run) -> set:
    return set(run.glob("tensorboard/*/events.out.tfevents.*"))


def logged_steps(events, tag: str) -> list[int]:
    """The steps at which the TensorBoard events file, or folder, ``events`` holds scalar ``tag``:
    in a folder, as TensorBoard draws it, without what a resumed run purged."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    return [event.step for event in accumulator.Scalars(tag)]


def test_a_resumed_stage_purges_what_its_stopped_run_logged_after_the_checkpoint(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from train import writer_for

    checkpoint = tmp_path / "checkpoint.pt"
    with writer_for(tmp_path, "mle_seq2seq", {}, checkpoint, resume=False) as stopped:
        for step in range(1, 6):  # stopped after step 5, its checkpoint at step 2
            stopped.add_scalar("mle_seq2seq/mle_loss", 1.0, step)
    save_checkpoint(checkpoint, 2, {})
    with writer_for(tmp_path, "mle_seq2seq", {}, checkpoint, resume=True) as resumed:
        for step in range(3, 6):
            resumed.add_scalar("mle_seq2seq/mle_loss", 0.5, step)
    accumulator = EventAccumulator(str(tmp_path / "tensorboard" / "mle_seq2seq"))
    accumulator.Reload()
    drawn = [(event.step, event.value) for event in accumulator.Scalars("mle_seq2seq/mle_loss")]
    assert drawn == [(1, 1.0), (2, 1.0), (3, 0.5), (4, 0.5), (5, 0.5)]

    checkpoint.unlink()  # stopped before its first checkpoint: the stage starts again from step 1
    with writer_for(tmp_path, "mle_seq2seq", {}, checkpoint, resume=False) as again:
        again.add_scalar("mle_seq2seq/mle_loss", 0.25, 1)
    accumulator.Reload()
    assert [(event.step, event.value) for event in accumulator.Scalars("mle_seq2seq/mle_loss")] == [(1, 0.25)]


def test_a_resume_refused_for_other_settings_leaves_the_stopped_runs_curves_whole(tmp_path):
    from train import writer_for

    checkpoint = tmp_path / "seq2seq" / "checkpoint.pt"
    checkpoint.parent.mkdir()
    with writer_for(tmp_path, "mle_seq2seq", {}, checkpoint, resume=False) as stopped:
        for step in range(1, 6):  # stopped after step 5, its checkpoint at step 2
            stopped.add_scalar("mle_seq2seq/mle_loss", 1.0, step)
    save_checkpoint(checkpoint, 2, {"batch_size": 2})
    result = train("mle", "--run", str(tmp_path), "--resume", *TINY)  # the tiny preset's batch size is not 2
    assert result.returncode == 2 and "other settings" in result.stderr, result.stderr
    assert logged_steps(tmp_path / "tensorboard" / "mle_seq2seq", "mle_seq2seq/mle_loss") == [1, 2, 3, 4, 5]


def test_sigkill_then_resume_finishes_as_if_never_interrupted(tmp_path):
    long = ["--mle-steps", "60", "--checkpoint-every", "3"]
    assert train("mle", "--run", str(tmp_path / "straight"), *TINY, *long).returncode == 0

    killed = tmp_path / "killed"
    step = kill_once_checkpointed(["mle", "--run", str(killed), *TINY, *long], killed / "seq2seq" / "checkpoint.pt", 9)
    assert 9 <= step < 60 and not (killed / "seq2seq" / "policy").exists()

    refused = train("mle", "--run", str(killed), *TINY, *long)
    assert refused.returncode == 2 and "pass --resume" in refused.stderr
    before = events_files(killed)
    resumed = train("mle", "--run", str(killed), "--resume", *TINY, *long)
    assert resumed.returncode == 0, resumed.stderr
    a, b = weights(tmp_path / "straight" / "seq2seq"), weights(killed / "seq2seq")
    assert all(torch.equal(a[k], b[k]) for k in a)
    # runs are deterministic, so the weights would match as well if --resume trained from step 0 again:
    # the resumed process's own events file shows which steps it trained
    (events,) = events_files(killed) - before
    assert logged_steps(events, "mle_seq2seq/mle_loss") == list(range(step + 1, 61))
    assert logged_steps(events.parent, "mle_seq2seq/mle_loss") == list(range(1, 61))  # the killed run's later steps purged


def test_corrupted_checkpoint_is_refused_and_left_alone(tmp_path):
    checkpoint = tmp_path / "seq2seq" / "checkpoint.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"not a checkpoint")
    result = train("mle", "--run", str(tmp_path), "--resume", *TINY)
    assert result.returncode == 2 and "is corrupted or not a HappyBot checkpoint" in result.stderr
    assert checkpoint.read_bytes() == b"not a checkpoint"


@pytest.mark.parametrize("content", [b"", b"not a checkpoint"])
def test_the_seconds_of_a_damaged_checkpoint_are_a_checkpoint_error_naming_it(tmp_path, content):
    # the pipeline reads a stage's seconds before the stage loads its checkpoint
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoint.write_bytes(content)
    with pytest.raises(CheckpointError, match=f"{re.escape(str(checkpoint))} is corrupted or not a HappyBot checkpoint"):
        checkpoint_seconds(checkpoint)


def test_two_overlapping_writers_of_one_file_leave_one_of_them_whole(tmp_path):
    path = tmp_path / "metrics.json"
    with atomic_file(path) as first:
        first.write(b'{"writer": ')
        write_json(path, {"writer": "second"})
        first.write(b'"first"}')
    assert read_json_object(path) == {"writer": "first"}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_replaced_file_keeps_its_permissions_and_a_new_file_or_folder_follows_the_umask(tmp_path):
    private = tmp_path / "checkpoint.pt"
    private.write_bytes(b"old")
    private.chmod(0o600)
    with atomic_file(private) as f:
        f.write(b"new")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    umask = os.umask(0o027)
    try:
        write_json(tmp_path / "run.json", {})
        with atomic_directory(tmp_path / "policy") as folder:
            (folder / "model.safetensors").write_bytes(b"")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "run.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "policy").stat().st_mode) == 0o750


def test_checkpoint_from_other_settings_or_format(tmp_path):
    save_checkpoint(tmp_path / "c.pt", 3, {"steps": 10})
    with pytest.raises(CheckpointError, match=r"other settings \(steps\)"):
        load_checkpoint(tmp_path / "c.pt", {"steps": 20})
    torch.save({"format": "something-else"}, tmp_path / "d.pt")
    with pytest.raises(CheckpointError, match="has format 'something-else'"):
        load_checkpoint(tmp_path / "d.pt", {})


def test_a_checkpoint_restores_every_random_state_python_keeps(tmp_path):
    """random.gauss draws two numbers at a time and keeps the second for its next call."""
    import random

    from happybot_env.checkpoint import set_rng_state

    random.seed(0)
    random.gauss(0, 1)
    save_checkpoint(tmp_path / "c.pt", 1, {})
    expected = [random.gauss(0, 1), random.random(), torch.rand(1)]
    random.seed(1)
    torch.manual_seed(1)
    set_rng_state(load_checkpoint(tmp_path / "c.pt", {})["rng"])
    assert [random.gauss(0, 1), random.random(), torch.rand(1)] == expected


def test_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "c.pt", 1, {}, model={"w": torch.ones(2)})

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(tmp_path / "c.pt", 2, {}, model={"w": torch.zeros(2)})
    monkeypatch.undo()
    payload = load_checkpoint(tmp_path / "c.pt", {})
    assert payload["step"] == 1 and torch.equal(payload["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_a_json_file_is_replaced_whole_or_not_at_all_and_a_damaged_one_is_named(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    write_json(path, {"mle": {"steps": 4}})

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_json(path, {"mle": {"steps": 8}})
    assert read_json_object(path) == {"mle": {"steps": 4}} and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]

    path.write_text('{"mle": {"steps": ')  # cut short by something other than HappyBot
    with pytest.raises(ValueError, match=re.escape(f"{path} is not valid JSON")):
        read_json_object(path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match=re.escape(f"{path} holds a JSON list, not an object")):
        read_json_object(path)


@pytest.mark.parametrize("name", ["run.json", "metrics.json"])
def test_a_damaged_run_file_is_named_in_the_error(tmp_path, name):
    assert train("mle", "--run", str(tmp_path), *TINY).returncode == 0
    (tmp_path / name).write_text("{")
    result = train("evaluate", "--run", str(tmp_path), "--quiet")
    assert result.returncode == 2 and f"error: {tmp_path / name} is not valid JSON" in result.stderr


@pytest.mark.parametrize("below", ["", "run"])
def test_a_file_given_as_the_run_folder_or_above_it_is_refused_by_the_parser(tmp_path, below):
    (tmp_path / "notes.txt").write_text("mine")
    result = train("mle", "--run", str(tmp_path / "notes.txt" / below), *TINY)
    assert result.returncode == 2 and f"argument --run: {tmp_path / 'notes.txt'} is a file, not a run folder" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("seed, message", [("-1", "must be at least 0, got -1"), (str(2**64), "must be below 2**32")])
def test_a_seed_numpy_gymnasium_or_torch_would_refuse_is_refused_by_the_parser(tmp_path, seed, message):
    result = train("rl", "--reward", "vader", "--run", str(tmp_path / "run"), "--seed", seed, *TINY)
    assert result.returncode == 2 and f"argument --seed: {message}" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_trained_policy_is_not_replaced_once_its_checkpoint_is_deleted(tmp_path):
    """Policy checkpoints are 100 MB and more, so users delete them: the saved policy must still be
    refused as a stage's output, for MLE, RL and sb3 alike."""
    assert train("mle", "--run", str(tmp_path), *TINY).returncode == 0
    assert train("rl", "--reward", "vader", "--run", str(tmp_path), *TINY).returncode == 0
    assert train("sb3", "--reward", "vader", "--run", str(tmp_path), *TINY).returncode == 0
    for stage in ("seq2seq", "rl_vader"):
        (tmp_path / stage / "checkpoint.pt").unlink()
    saved = {stage: (tmp_path / stage / "policy" / "model.safetensors").read_bytes() for stage in ("seq2seq", "rl_vader", "sb3")}
    for argv, stage in ((["mle"], "seq2seq"), (["rl", "--reward", "vader"], "rl_vader"), (["sb3", "--reward", "vader"], "sb3")):
        again = train(*argv, "--run", str(tmp_path), *TINY)
        assert again.returncode == 2 and f"{tmp_path / stage / 'policy'} exists: it is trained" in again.stderr, stage
    assert saved == {stage: (tmp_path / stage / "policy" / "model.safetensors").read_bytes() for stage in saved}


def test_run_folder_of_another_version_is_refused(tmp_path):
    (tmp_path / "run.json").write_text('{"version": "0.0.1"}')
    result = train("mle", "--run", str(tmp_path), *TINY)
    assert result.returncode == 2 and "run format 0.0.1" in result.stderr


def test_run_folder_on_other_data_is_refused(tmp_path):
    run, other = tmp_path / "run", tmp_path / "other"
    assert train("mle", "--run", str(run), *TINY).returncode == 0
    other.mkdir()
    result = train("mle", "--run", str(run), "--data-dir", str(other), "--preset", "tiny", "--device", "cpu")
    assert result.returncode == 2 and f"{run} holds a run on {FIXTURES.resolve()}: use another --run" in result.stderr


def test_no_stage_means_the_pipeline_with_the_flags_given(tmp_path):
    result = train("--run", str(tmp_path / "run"), "--preset", "tiny", "--mle-steps", "0")
    assert result.returncode == 2 and "train.py pipeline: error: argument --mle-steps" in result.stderr


def test_a_device_that_is_not_here_claims_no_run_folder(tmp_path):
    result = train("mle", "--run", str(tmp_path / "run"), "--preset", "tiny", "--device", "cuda:99")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: device 'cuda:99': no such CUDA device here" in result.stderr
    assert not (tmp_path / "run").exists()  # so another preset can use it next


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_a_wrong_data_dir_claims_no_run_folder(tmp_path, folder):
    (tmp_path / "empty").mkdir()
    result = train("rl", "--data-dir", str(tmp_path / folder), "--run", str(tmp_path / "run"), "--preset", "tiny")
    expected = f"data directory {tmp_path / 'missing'} does not exist" if folder == "missing" else "no known corpus under"
    assert result.returncode == 2 and expected in result.stderr
    assert not (tmp_path / "run").exists()  # so the right --data-dir can use it next


def test_labels_a_trained_predictor_learned_from_are_not_replaced(tmp_path):
    (tmp_path / "predictor").mkdir()  # as the predictor stage leaves it
    (tmp_path / "labels.jsonl").write_text("the labels it learned from\n")
    result = train("label", "--run", str(tmp_path), "--quiet")
    assert result.returncode == 2 and f"{tmp_path / 'predictor'} was trained on {tmp_path / 'labels.jsonl'}" in result.stderr
    assert (tmp_path / "labels.jsonl").read_text() == "the labels it learned from\n"


@pytest.mark.parametrize("stage, flag", [("label", "--classifier"), ("rl", "--reward"), ("sb3", "--reward")])
def test_an_unknown_reward_name_is_refused_by_the_parser_before_the_run_folder_is_claimed(tmp_path, stage, flag):
    result = train(stage, flag, "lookahed", "--run", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"argument {flag}: unknown reward model 'lookahed': registered names are" in result.stderr
    assert not (tmp_path / "run").exists()  # so the corrected command may give another --seed


@pytest.mark.parametrize("stage", ["classifier", "predictor"])
def test_a_max_length_with_no_room_for_text_is_refused_by_the_parser(tmp_path, stage):
    result = train(stage, "--max-length", "3", "--run", str(tmp_path / "run"))
    assert result.returncode == 2 and "argument --max-length: must be at least 4, got 3" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_non_finite_loss_is_a_clean_error_naming_its_step(tmp_path, monkeypatch, capsys):
    """The loop's FloatingPointError reaches the user as one line, not a traceback, and nothing is saved.
    The loss turns NaN at step 2 by a patch: no learning rate the parser accepts overflows for sure."""
    import train as cli
    from agents.seq2seq import Seq2SeqPolicy

    mle_loss, calls = Seq2SeqPolicy.mle_loss, []

    def nan_from_step_2(self, *args, **kwargs):
        calls.append(1)
        loss = mle_loss(self, *args, **kwargs)
        return loss * float("nan") if len(calls) == 2 else loss

    monkeypatch.setattr(Seq2SeqPolicy, "mle_loss", nan_from_step_2)
    assert cli.main(["mle", "--run", str(tmp_path), *TINY]) == 2
    # the tiny preset checkpoints every 2 steps, so step 2 fails before the first checkpoint
    message = "error: non-finite loss (nan) at step 2; the weights were not updated and no checkpoint has been written yet"
    assert message in capsys.readouterr().err
    assert not (tmp_path / "seq2seq").exists() and not (tmp_path / "metrics.json").exists()


def test_rl_needs_the_mle_policy(tmp_path):
    result = train("rl", "--reward", "vader", "--run", str(tmp_path), *TINY)
    assert result.returncode == 2 and "run `train.py mle --model seq2seq` first" in result.stderr


def test_rl_sigkill_then_resume_finishes_as_if_never_interrupted(tmp_path):
    """The loops claim exact resumption: policy, baseline, optimizer, RNG, the env's sampling and the reward history."""
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert train("mle", "--run", str(straight), *TINY).returncode == 0
    shutil.copytree(straight, killed)  # the same MLE policy to start from, without training it twice
    rl = ["rl", "--reward", "vader", "--rl-updates", "20", "--checkpoint-every", "2", *TINY]
    result = train(*rl, "--run", str(straight))
    assert result.returncode == 0, result.stderr

    step = kill_once_checkpointed([*rl, "--run", str(killed)], killed / "rl_vader" / "checkpoint.pt", 2)
    assert 2 <= step < 20 and not (killed / "rl_vader" / "policy").exists()

    before = events_files(killed)
    resumed = train(*rl, "--run", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = weights(straight / "rl_vader"), weights(killed / "rl_vader")
    assert all(torch.equal(a[k], b[k]) for k in a)
    (events,) = events_files(killed) - before  # as for MLE: only the updates after the checkpoint
    assert logged_steps(events, "rl_vader/reward") == list(range(step + 1, 21))
    assert logged_steps(events.parent, "rl_vader/reward") == list(range(1, 21))
    metrics = [json.loads((run / "metrics.json").read_text())["rl_vader"] for run in (straight, killed)]
    assert metrics[0] == metrics[1]
    history = metrics[1]["reward_history"]
    assert [s for s, _ in history] == list(range(1, 21)) and all(0 <= r <= 1 for _, r in history)


def test_rl_against_a_folder_named_like_a_registered_reward_does_not_resume_its_run(tmp_path, tiny_bert):
    """`rl --reward vader` and `rl --reward /x/vader` both train into rl_vader: the second must not
    continue the first's updates against another reward."""
    run = tmp_path / "run"
    assert train("mle", "--run", str(run), *TINY).returncode == 0
    assert train("rl", "--reward", "vader", "--run", str(run), *TINY).returncode == 0
    folder = shutil.copytree(tiny_bert, tmp_path / "vader")
    resumed = train("rl", "--reward", str(folder), "--rl-updates", "3", "--run", str(run), "--resume", *TINY)
    assert resumed.returncode == 2 and "other settings (reward)" in resumed.stderr


def test_reward_identity_keeps_a_registered_name_and_makes_a_folder_absolute(tmp_path, monkeypatch):
    """What an RL checkpoint records as its reward (the rl stage passes it to the loop): by name, `current`
    stays the run's own classifier however --run is spelt on a resume; a folder given relative to one
    directory is the same folder given absolute from another."""
    import train as cli

    monkeypatch.chdir(tmp_path)
    assert cli.reward_identity("current") == "current"
    assert cli.reward_identity("models/mine") == str(tmp_path / "models" / "mine")


def test_classifier_sigkill_then_resume_finishes_as_if_never_interrupted(tmp_path):
    """The reward-model fine-tunes resume exactly too, and leave no checkpoint once the model is saved."""
    args = ["--data-dir", str(FIXTURES), "--device", "cpu", "--quiet", "--epochs", "8", "--batch-size", "1", "--checkpoint-every", "10"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert train("classifier", "--run", str(straight), *args).returncode == 0

    step = kill_once_checkpointed(["classifier", "--run", str(killed), *args], killed / "classifier.checkpoint.pt", 10)
    assert 10 <= step < 40 and not (killed / "classifier").exists()
    before = events_files(killed)
    resumed = train("classifier", "--run", str(killed), "--resume", *args)
    assert resumed.returncode == 0, resumed.stderr

    a, b = (load_file(str(run / "classifier" / "model.safetensors")) for run in (straight, killed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not (killed / "classifier.checkpoint.pt").exists() and not (straight / "classifier.checkpoint.pt").exists()
    (events,) = events_files(killed) - before
    assert logged_steps(events, "classifier/loss") == list(range(step + 1, 41))
    assert logged_steps(events.parent, "classifier/loss") == list(range(1, 41))

    again = train("classifier", "--run", str(straight), "--seed", "5", *args)  # a finished model is never replaced
    assert again.returncode == 2 and f"{straight / 'classifier'} exists: it is trained" in again.stderr
    assert all(torch.equal(a[k], v) for k, v in load_file(str(straight / "classifier" / "model.safetensors")).items())


def test_a_finished_run_resumed_with_more_steps_is_the_longer_run(tmp_path):
    straight, extended = tmp_path / "straight", tmp_path / "extended"
    for stage, flag, folder in (("mle", "--mle-steps", "seq2seq"), ("rl", "--rl-updates", "rl_vader")):
        reward = ["--reward", "vader"] if stage == "rl" else []
        assert train(stage, *reward, "--run", str(straight), flag, "6", *TINY).returncode == 0
        assert train(stage, *reward, "--run", str(extended), flag, "4", *TINY).returncode == 0
        result = train(stage, *reward, "--run", str(extended), flag, "6", "--resume", *TINY)
        assert result.returncode == 0, result.stderr
        a, b = weights(straight / folder), weights(extended / folder)
        assert all(torch.equal(a[k], b[k]) for k in a), stage
        fewer = train(stage, *reward, "--run", str(extended), flag, "5", "--resume", *TINY)
        assert fewer.returncode == 2 and "is at step 6, past the 5 steps asked for" in fewer.stderr
    metrics = [json.loads((run / "metrics.json").read_text())["rl_vader"] for run in (straight, extended)]
    assert [step for step, _ in metrics[1]["reward_history"]] == [1, 2, 3, 4, 5, 6]
    assert metrics[0] == metrics[1]


def test_quiet_draws_no_progress_bar_even_where_transformers_loads_a_model(tmp_path, tiny_bert):
    assert train("mle", "--run", str(tmp_path), *TINY).returncode == 0
    result = train("rl", "--reward", str(tiny_bert), "--run", str(tmp_path), *TINY)
    assert result.returncode == 0, result.stderr
    assert "it/s]" not in result.stderr, result.stderr


def test_sb3_stage_saves_safetensors_weights(tmp_path):
    result = train("sb3", "--reward", "vader", "--run", str(tmp_path), *TINY)
    assert result.returncode == 0, result.stderr
    assert load_file(str(tmp_path / "sb3" / "policy" / "model.safetensors"))
    assert json.loads((tmp_path / "metrics.json").read_text())["sb3"]["timesteps"] >= 64


@pytest.mark.parametrize(
    "stage, reads, ignores",
    [
        ("mle", ["--mle-steps", "--batch-size", "--eval-examples"], ["--rl-updates", "--rl-weight"]),
        ("rl", ["--rl-updates", "--rl-envs", "--rl-weight"], ["--mle-steps", "--eval-examples"]),
        ("evaluate", ["--eval-examples"], ["--mle-steps", "--rl-envs", "--checkpoint-every"]),
        ("sb3", [], ["--rl-envs", "--mle-steps", "--rl-weight"]),
        ("chat", [], ["--eval-examples", "--rl-updates"]),
    ],
)
def test_a_stage_takes_only_the_size_flags_it_reads(stage, reads, ignores, capsys):
    """A flag the stage would ignore (sb3 trained the same weights with any --rl-envs) is refused, not listed."""
    import train as cli

    with pytest.raises(SystemExit):
        cli.build_parser().parse_args([stage, "--help"])
    help_text = capsys.readouterr().out
    assert all(flag in help_text for flag in reads) and not any(flag in help_text for flag in ignores)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args([stage, ignores[0], "3"])
    assert f"unrecognized arguments: {ignores[0]} 3" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["dance"], "argument STAGE: invalid choice: 'dance'"),
        (["mle", "--model", "gpt"], "argument --model: invalid choice: 'gpt'"),
        (["mle", "--stepz", "3"], "unrecognized arguments: --stepz 3"),
    ],
)
def test_unknown_stage_or_flag(argv, message):
    result = train(*argv)
    assert result.returncode == 2 and message in result.stderr


@pytest.mark.parametrize("weight", ["2", "-0.5"])
def test_lambda_outside_zero_one_is_refused_before_anything_loads(tmp_path, weight):
    result = train("rl", "--reward", "vader", "--run", str(tmp_path), "--rl-weight", weight, *TINY)
    assert result.returncode == 2 and f"argument --rl-weight: lambda of equation 10 must lie in [0, 1], got {float(weight)}" in result.stderr
    assert not any(tmp_path.iterdir())  # refused by the parser: not even the run folder was made


@pytest.mark.parametrize("argv", [
    ["mle", "--checkpoint-every", "0", *TINY],  # a modulo by zero after the first step
    ["mle", "--batch-size", "0", *TINY],  # "Cannot pack empty tensors"
    ["classifier", "--checkpoint-every", "0"],
    ["predictor", "--eval-every", "-3"],
    ["rl", "--reward", "vader", "--rl-updates", "0", *TINY],  # would save the MLE policy as RL's, "mean reward 0.000"
    ["evaluate", "--eval-examples", "-5", *TINY],  # head(-5) would silently drop the last five contexts
])
def test_sizes_and_intervals_below_one_are_refused_before_anything_loads(tmp_path, argv):
    result = train(*argv, "--run", str(tmp_path))
    flags = ("--checkpoint-every", "--batch-size", "--eval-every", "--rl-updates", "--eval-examples")
    flag, value = next((a, v) for a, v in zip(argv, argv[1:]) if a in flags)
    assert result.returncode == 2 and f"argument {flag}: must be at least 1, got {value}" in result.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("argv, message", [
    (["mle", "--mle-learning-rate", "1e38", *TINY], "argument --mle-learning-rate: a learning rate must lie in (0, 1], got 1e38"),
    (["rl", "--reward", "vader", "--rl-learning-rate", "0", *TINY], "argument --rl-learning-rate: a learning rate must lie in (0, 1], got 0"),
    (["classifier", "--learning-rate", "nan"], "argument --learning-rate: a learning rate must lie in (0, 1], got nan"),
    (["predictor", "--epochs", "0"], "argument --epochs: must be a finite number above 0, got 0"),
    (["classifier", "--epochs", "inf"], "argument --epochs: must be a finite number above 0, got inf"),
    (["classifier", "--lora-rank", "-4"], "argument --lora-rank: must be at least 0, got -4"),
])
def test_learning_rates_epochs_and_ranks_out_of_range_are_refused_before_anything_loads(tmp_path, argv, message):
    # before: 1e38 ended in Adam's "value cannot be converted to type float without overflow", and
    # --epochs 0 silently trained one step
    result = train(*argv, "--run", str(tmp_path))
    assert result.returncode == 2 and message in result.stderr
    assert not any(tmp_path.iterdir())


def test_every_stage_has_help():
    for stage in ("data", "classifier", "label", "predictor", "mle", "rl", "evaluate", "chat", "sb3", "pipeline", "compare"):
        result = train(stage, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, stage
        # data takes no --run, so its corpus cannot default to a run's
        assert ("the run's" in result.stdout) == ("--run" in result.stdout and "--data-dir" in result.stdout), stage


@pytest.mark.parametrize("stage", ["mle", "rl"])
def test_a_stage_killed_before_its_metrics_are_written_has_not_saved_its_policy(tmp_path, monkeypatch, stage):
    """The pipeline skips a stage whose policy exists: saved before its metrics, a kill between the two
    left RL's reward history out of the run for good."""
    import train as cli

    if stage == "rl":
        assert train("mle", "--run", str(tmp_path), *TINY).returncode == 0
    argv = ["mle", "--model", "multiseq"] if stage == "mle" else ["rl", "--reward", "vader"]
    folder = tmp_path / ("multiseq" if stage == "mle" else "rl_vader")

    def killed(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(cli, "update_metrics", killed)
        with pytest.raises(KeyboardInterrupt):
            cli.main([*argv, "--run", str(tmp_path), *TINY])
    assert not (folder / "policy").exists()
    assert cli.main([*argv, "--run", str(tmp_path), "--resume", *TINY]) == 0  # what the pipeline runs next
    assert (folder / "policy").is_dir() and folder.name in json.loads((tmp_path / "metrics.json").read_text())


def test_a_reward_model_failing_in_rl_is_a_clean_error_naming_its_update(tmp_path, monkeypatch, capsys):
    import train as cli
    from reward_models import registry

    assert train("mle", "--run", str(tmp_path), *TINY).returncode == 0
    monkeypatch.setitem(registry._registry, "broken", lambda: registry.CallableReward(lambda users, responses: [float("nan")] * len(users), "broken"))
    assert cli.main(["rl", "--reward", "broken", "--run", str(tmp_path), *TINY]) == 2
    assert "error: update 1: reward model 'broken' returned NaN or infinite scores" in capsys.readouterr().err
    assert not (tmp_path / "rl_broken" / "policy").exists()


def test_label_reads_what_the_predictor_reads_and_never_a_test_split(fixtures, tmp_path):
    import train as cli

    data = shutil.copytree(fixtures, tmp_path / "data")
    shutil.copyfile(data / "empatheticdialogues" / "valid.csv", data / "empatheticdialogues" / "test.csv")
    assert cli.main(["label", "--classifier", "vader", "--data-dir", str(data), "--run", str(tmp_path / "run"), "--quiet"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "labels.jsonl").read_text().splitlines()]
    assert {(r["corpus"], r["split"]) for r in rows} == {
        ("empatheticdialogues", "train"), ("empatheticdialogues", "valid"), ("dailydialog", "train"),
        ("dailydialog", "validation"), ("personachat", "valid"),
    }


def test_the_predictor_inherits_the_licences_of_the_model_that_labelled_its_data(fixtures, tmp_path, tiny_bert):
    import train as cli

    licensed = shutil.copytree(tiny_bert, tmp_path / "licensed")
    write_json(licensed / "happybot.json", {"licences": ["SentiCorpus: CC BY 4.0"]})
    for labeller, expected in (("vader", "vaderSentiment: MIT"), (str(licensed), "SentiCorpus: CC BY 4.0")):
        run = tmp_path / f"labelled_by_{Path(labeller).name}"
        flags = ["--data-dir", str(fixtures), "--run", str(run), "--device", "cpu", "--quiet"]
        assert cli.main(["label", "--classifier", labeller, *flags]) == 0
        assert cli.main(["predictor", "--epochs", "0.1", *flags]) == 0
        licences = read_json_object(run / "predictor" / "happybot.json")["licences"]
        assert expected in licences and "DailyDialog: CC BY-NC-SA 4.0" in licences


def test_a_predictor_on_another_runs_labels_inherits_the_licences_of_their_labeller(fixtures, tmp_path, tiny_bert):
    import train as cli

    licensed = shutil.copytree(tiny_bert, tmp_path / "licensed")
    write_json(licensed / "happybot.json", {"licences": ["SentiCorpus: CC BY 4.0"]})
    flags = ["--data-dir", str(fixtures), "--device", "cpu", "--quiet"]
    assert cli.main(["label", "--classifier", str(licensed), "--run", str(tmp_path / "labelled"), *flags]) == 0
    labels = tmp_path / "labelled" / "labels.jsonl"
    assert cli.main(["predictor", "--labels", str(labels), "--epochs", "0.1", "--run", str(tmp_path / "run"), *flags]) == 0
    metadata = read_json_object(tmp_path / "run" / "predictor" / "happybot.json")
    assert "SentiCorpus: CC BY 4.0" in metadata["licences"] and metadata["data"]["labels"] == str(labels)


def test_a_model_folder_whose_licences_are_not_a_list_of_strings_is_named(tiny_bert, tmp_path):
    import reward_models

    folder = shutil.copytree(tiny_bert, tmp_path / "model")
    write_json(folder / "happybot.json", {"licences": "MIT"})
    with pytest.raises(ValueError, match=f"{folder / 'happybot.json'}: field licences must be a list of strings"):
        reward_models.make(str(folder), device="cpu")
