"""scripts/score_reward_models.py: the validation sets the training stages report, scored for any model."""

import json
import shutil
import subprocess
import sys

import pytest

from happybot_env.data import dialogue_sources, find_corpora, held_out_sources
from reward_models import make
from reward_models.examples import classifier_data, lookahead_examples

from .conftest import FIXTURES, REPO_ROOT


def accuracy(model, examples) -> float:
    positive = model([e.user for e in examples], [e.text for e in examples]) >= 0.5
    return round(sum(int(p) == e.label for p, e in zip(positive.tolist(), examples)) / len(examples), 4)


def test_score_reward_models_reports_each_validation_set_as_the_training_stages_build_it(tmp_path):
    data = shutil.copytree(FIXTURES, tmp_path / "data")
    validation = data / "dailydialog" / "validation"  # dialogues long enough for look-ahead examples
    (validation / "dialogues_validation.txt").write_text(
        "My cat is ill . __eou__ I am sorry , is she at the vet ? __eou__ Yes , she is doing better . __eou__ Good . __eou__\n"
        "I lost my job . __eou__ That is awful news . __eou__ I am so sad . __eou__\n"
    )
    (validation / "dialogues_emotion_validation.txt").write_text("5 0 4 0 \n5 0 5 \n")
    (validation / "dialogues_act_validation.txt").write_text("1 2 1 1 \n1 1 1 \n")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "score_reward_models.py"), "--data-dir", str(data),
         "--classifier", "vader", "--predictor", "vader", "--device", "cpu"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    vader = make("vader")
    _, valid, _ = classifier_data(find_corpora(data))
    assert {name: (f["examples"], f["accuracy"]) for name, f in report["classifier_accuracy"].items()} == {
        name: (len(examples), accuracy(vader, examples)) for name, examples in valid.items()
    }
    # the predictor's labels are the classifier's scores of the next user turns
    held_out = held_out_sources(dialogue_sources(find_corpora(data)))
    labels = {(s.corpus, s.split, d.id): [float(vader([""], [t.text])[0]) if t.role == "user" else None for t in d.turns]
              for s in held_out for d in s.read().dialogues}
    expected = {f"{s.corpus}_{s.split}": list(lookahead_examples(s.read(), labels, s.corpus)) for s in held_out}
    expected = {name: (len(examples), accuracy(vader, examples)) for name, examples in expected.items() if examples}
    reported = {name: (f["examples"], f["accuracy"]) for name, f in report["predictor_accuracy"].items() if name != "all_validation"}
    assert expected["dailydialog_validation"][0] == 2 and reported == expected and report["predictor_accuracy"]["all_validation"]["examples"] == sum(n for n, _ in expected.values())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data-dir", "/nonexistent"], "argument --data-dir: no folder at /nonexistent"),
        (["--data-dir", str(FIXTURES), "--classifier", "nosuch"], "argument --classifier: unknown reward model 'nosuch'"),
        (["--data-dir", str(FIXTURES), "--predictor", "nosuch"], "argument --predictor: unknown reward model 'nosuch'"),
        (["--data-dir", str(FIXTURES), "--device", "cuda:99"], "argument --device: device 'cuda:99': no such CUDA device here"),
    ],
)
def test_a_bad_argument_is_refused_by_the_parser_naming_it(args, message):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "score_reward_models.py"), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and message in result.stderr, result.stderr
