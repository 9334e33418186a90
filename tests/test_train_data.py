"""``train.py data``: the corpus statistics a user sees, which splits are trained on, and its errors."""

import json
import shutil
import subprocess
import sys

import pytest


from happybot_env.data import NoCorpusFound, dialogue_sources, find_corpora, held_out_sources, training_sources
from happybot_env.episodes import load_bank

from .conftest import REPO_ROOT


def run_train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), *args], capture_output=True, text=True, cwd=REPO_ROOT
    )


def test_finds_every_format_in_the_fixture_folder(fixtures):
    found = {(s.corpus, s.split) for s in find_corpora(fixtures)}
    assert found == {
        ("empatheticdialogues", "train"),
        ("empatheticdialogues", "valid"),
        ("dailydialog", "train"),
        ("dailydialog", "validation"),
        ("personachat", "valid"),
        ("sst2/glue", "train"),
        ("sst2/glue", "dev"),
        ("sst2/sentence_level", "train"),
        ("sst2/sentence_level", "dev"),
        ("sst2/trees", "train"),
        ("sst2/trees", "dev"),
    }


def test_the_official_glue_archive_with_its_unlabelled_test_file_is_read(tmp_path):
    glue = tmp_path / "SST-2"
    glue.mkdir()
    (glue / "train.tsv").write_text("sentence\tlabel\na fine film \t1\n")
    (glue / "dev.tsv").write_text("sentence\tlabel\ndull \t0\n")
    (glue / "test.tsv").write_text("index\tsentence\n0\tunlabelled\n")
    sources = find_corpora(tmp_path)
    assert {(s.corpus, s.split) for s in sources} == {("sst2/glue", "train"), ("sst2/glue", "dev")}
    assert [len(s.read().examples) for s in sources] == [1, 1]


def test_data_stage_reports_counts_and_skips(fixtures):
    result = run_train("data", "--data-dir", str(fixtures))
    assert result.returncode == 0, result.stderr
    corpora = json.loads(result.stdout)["corpora"]
    ed = corpora["empatheticdialogues"]["train"]
    assert (ed["dialogues"], ed["utterances"], ed["policy_triples"], ed["sentiment_examples"]) == (2, 7, 3, 2)
    assert ed["label_balance"] == {"positive": 1, "negative": 1, "positive_rate": 0.5}
    dd = corpora["dailydialog"]["train"]
    assert (dd["dialogues"], dd["utterances"]) == (3, 9)
    assert dd["skipped"] == {}
    assert dd["turn_sentiment"] == {"positive": 5, "negative": 1, "neutral": 3}
    pc = corpora["personachat"]["valid"]
    assert (pc["dialogues"], pc["exchanges"], pc["utterances"]) == (2, 4, 7)
    trees = corpora["sst2/trees"]["train"]
    assert trees["sentiment_examples"] == 2
    assert trees["skipped"]["neutral sentence (root label 2)"]["count"] == 1


def test_default_is_the_built_in_corpus():
    result = run_train("data")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["data_dir"] is None and set(report["corpora"]) == {"chitchat"}
    assert set(report["corpora"]["chitchat"]) == {"train", "validation"}
    assert report["corpora"]["chitchat"]["train"]["policy_triples"] > 10_000


def test_folder_without_corpora_lists_what_was_looked_for(tmp_path):
    with pytest.raises(NoCorpusFound, match="looked for: empatheticdialogues/<split>.csv"):
        find_corpora(tmp_path)
    result = run_train("data", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "no known corpus under" in result.stderr and "sst2/trees/<split>.txt" in result.stderr


def test_malformed_file_is_a_clear_error_not_a_traceback(tmp_path):
    bad = tmp_path / "sst2" / "sentence_level" / "stsa.binary.train"
    bad.parent.mkdir(parents=True)
    bad.write_text("1 good\n7 odd\n")
    result = run_train("data", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {bad}, line 2: label must be 0 or 1, found '7'"


def test_unknown_stage_and_flag_are_rejected():
    stage, flag = run_train("dat"), run_train("data", "--data-dirr", "x")
    assert stage.returncode == 2 and "invalid choice: 'dat'" in stage.stderr
    assert flag.returncode == 2 and "unrecognized arguments: --data-dirr x" in flag.stderr


@pytest.mark.parametrize("flag", [["--run", "runs/x"], ["--seed", "1"], ["--device", "cpu"]])
def test_data_refuses_flags_it_would_ignore(flag):
    result = run_train("data", *flag)
    assert result.returncode == 2 and f"unrecognized arguments: {' '.join(flag)}" in result.stderr


def test_a_corpus_without_a_train_split_is_trained_on_and_test_splits_never_are(fixtures, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(fixtures, data_dir)
    shutil.copyfile(data_dir / "empatheticdialogues" / "valid.csv", data_dir / "empatheticdialogues" / "test.csv")
    dialogues = dialogue_sources(find_corpora(data_dir))

    assert {(s.corpus, s.split) for s in training_sources(dialogues)} == {
        ("empatheticdialogues", "train"), ("dailydialog", "train"), ("personachat", "valid"),
    }
    assert {(s.corpus, s.split) for s in held_out_sources(dialogues)} == {
        ("empatheticdialogues", "valid"), ("dailydialog", "validation"),
    }
    # the policy's episodes follow the same rule: PersonaChat's turns are trained on, not held out
    persona_user = "hi , how are you today ?"
    assert persona_user in {t.user for t in load_bank(data_dir, "train", 32).triples}
    assert persona_user not in {t.user for t in load_bank(data_dir, "validation", 32).triples}


def test_held_out_dialogues_that_repeat_a_train_dialogue_are_left_out_and_counted(fixtures, tmp_path):
    """DailyDialog's validation split repeats 77 of its train dialogues: held-out figures (the
    predictor's accuracy, the policies' BLEU) would partly measure what the models learned."""
    data = shutil.copytree(fixtures / "dailydialog", tmp_path / "dailydialog")
    train = {f"dialogues{part}train.txt" for part in ("_", "_emotion_", "_act_")}
    first = [(data / "train" / name).read_text().splitlines(keepends=True)[0] for name in sorted(train)]
    for name, line in zip(sorted(train), first):  # the validation split gets train's first dialogue, in capitals
        valid = data / "validation" / name.replace("train", "validation")
        upper = line.upper().replace("__EOU__", "__eou__") if name == "dialogues_train.txt" else line
        valid.write_text(upper + valid.read_text())
    (held_out,) = held_out_sources(dialogue_sources(find_corpora(tmp_path)))
    unfiltered = next(s for s in find_corpora(tmp_path) if s.split == "validation").read()
    corpus = held_out.read()
    assert len(corpus.dialogues) == len(unfiltered.dialogues) - 1
    assert corpus.skipped.as_dict()["repeats a train dialogue"] == {"count": 1, "first": [unfiltered.dialogues[0].id]}


def test_a_corpus_in_both_of_its_places_is_read_once(fixtures, tmp_path):
    shutil.copytree(fixtures / "dailydialog", tmp_path / "dailydialog")
    shutil.copytree(fixtures / "dailydialog", tmp_path / "ijcnlp_dailydialog")
    found = [(s.corpus, s.split, s.path) for s in find_corpora(tmp_path)]
    assert found == [("dailydialog", split, tmp_path / "dailydialog" / split) for split in ("train", "validation")]
