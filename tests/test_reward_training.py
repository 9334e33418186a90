"""Fine-tuning, saving and reloading reward models; labelling and the look-ahead training data."""

import json
import random
import shutil
from dataclasses import replace

import pytest
import torch

from happybot_env.atomic import atomic_directory
from happybot_env.checkpoint import CheckpointError
from happybot_env.data import find_corpora
from reward_models import make
from reward_models.examples import classifier_data, lookahead_examples, predictor_data, user_turn_labels
from reward_models.labelling import label_user_turns
from reward_models.training import Encoded, FineTuneConfig, LabelledText, fine_tune, save

EXAMPLES = [
    LabelledText("what a wonderful day", 1, user="hi"),
    LabelledText("this is awful", 0, user="hello"),
    LabelledText("i love it", 1, user="how was it?"),
    LabelledText("i hate it", 0, user="and?"),
]


@pytest.mark.parametrize("lora_rank", [2, 0])
def test_saved_model_reloads_with_the_same_scores(tmp_path, lora_rank):
    config = FineTuneConfig(input="pair", lora_rank=lora_rank, epochs=2, batch_size=2, learning_rate=1e-3, device="cpu")
    model, accuracies = fine_tune(EXAMPLES, {"train": EXAMPLES}, config, quiet=True)
    assert set(accuracies) == {"train"} and 0 <= accuracies["train"] <= 1
    save(model, tmp_path / "predictor", {"name": "predictor", "input": "pair"})

    files = {p.name for p in (tmp_path / "predictor").iterdir()}
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)  # safetensors only
    if lora_rank:
        assert (tmp_path / "predictor" / "adapter_model.safetensors").stat().st_size < 5_000_000
    reloaded = make(tmp_path / "predictor", device="cpu")
    assert reloaded.input == "pair" and reloaded.name == "predictor"
    model.eval()
    inputs = reloaded.tokenizer([e.user for e in EXAMPLES], [e.text for e in EXAMPLES], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**inputs).logits.softmax(-1)[:, 1]
    torch.testing.assert_close(reloaded([e.user for e in EXAMPLES], [e.text for e in EXAMPLES]), expected, atol=1e-4, rtol=0)


def test_a_fine_tune_stopped_after_a_checkpoint_resumes_exactly(tmp_path):
    """Weights, optimizer, schedule, dropout RNG and the epoch's remaining batches all come back:
    stopped at step 6 (checkpoint at 4, mid-epoch) and resumed, it ends where a straight run does."""

    class StopAt:
        """A TensorBoard writer that stops the run when it is handed ``step``."""

        def __init__(self, step: int) -> None:
            self.step = step

        def add_scalar(self, tag: str, value: float, step: int) -> None:
            if step == self.step:
                raise KeyboardInterrupt

    config = FineTuneConfig(epochs=3, batch_size=1, learning_rate=1e-3, checkpoint_every=4, device="cpu")
    straight, straight_accuracy = fine_tune(EXAMPLES, {"train": EXAMPLES}, config, quiet=True)
    checkpoint = tmp_path / "classifier.checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        fine_tune(EXAMPLES, {"train": EXAMPLES}, config, writer=StopAt(6), quiet=True, checkpoint=checkpoint)
    assert torch.load(checkpoint, weights_only=True)["step"] == 4
    with pytest.raises(CheckpointError, match="pass --resume"):
        fine_tune(EXAMPLES, {"train": EXAMPLES}, config, quiet=True, checkpoint=checkpoint)
    class LossSteps:
        def __init__(self) -> None:
            self.steps: list[int] = []

        def add_scalar(self, tag: str, value: float, step: int) -> None:
            if tag.endswith("/loss"):
                self.steps.append(step)

    # the run is deterministic: a resume that retrained from step 0 would end in the same weights,
    # so the steps it trains are what show that it went on from the checkpoint
    trained = LossSteps()
    resumed, resumed_accuracy = fine_tune(
        EXAMPLES, {"train": EXAMPLES}, config, writer=trained, quiet=True, checkpoint=checkpoint, resume=True
    )
    assert trained.steps == list(range(5, 13))
    a, b = straight.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a) and resumed_accuracy == straight_accuracy
    with pytest.raises(CheckpointError, match=r"other settings \(learning_rate\)"):
        fine_tune(EXAMPLES, {"train": EXAMPLES}, replace(config, learning_rate=1e-4), quiet=True, checkpoint=checkpoint, resume=True)
    # labels relabelled between the kill and the resume, as many examples as before
    relabelled = [replace(EXAMPLES[0], label=1 - EXAMPLES[0].label), *EXAMPLES[1:]]
    with pytest.raises(CheckpointError, match=r"other settings \(data\)"):
        fine_tune(relabelled, {"train": EXAMPLES}, config, quiet=True, checkpoint=checkpoint, resume=True)


@pytest.mark.parametrize("input, max_length", [("response", 2), ("pair", 3)])
def test_a_max_length_that_leaves_no_room_for_the_text_is_refused(input, max_length):
    with pytest.raises(ValueError, match=f"max_length={max_length} leaves no room for the text"):
        FineTuneConfig(input=input, max_length=max_length)
    FineTuneConfig(input=input, max_length=max_length + 1)


def test_a_max_length_beyond_the_encoders_positions_is_refused_before_training():
    config = FineTuneConfig(max_length=600, device="cpu")
    with pytest.raises(ValueError, match="max_length=600 is more than the pretrained encoder's 512 positions"):
        fine_tune(EXAMPLES, {}, config, quiet=True)


def test_classifier_data_uses_sst2_and_situations(fixtures):
    train, valid, used = classifier_data(find_corpora(fixtures))
    assert len(train) == 3 + 2  # GLUE phrases + ED train situations
    assert LabelledText("My daughter won the spelling bee, all by herself.", 1) in train
    assert set(valid) == {"sst2_dev", "ed_situations_valid"}
    assert "sst2/glue train" in used["train"][0]


def test_labels_then_lookahead_examples(fixtures, tmp_path):
    sources = [s for s in find_corpora(fixtures) if s.corpus == "empatheticdialogues"]
    counts = label_user_turns(sources, make("vader"), tmp_path / "labels.jsonl", quiet=True)
    assert counts["empatheticdialogues/train"]["user_turns"] == 4
    rows = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert rows[0]["positive"][1] is None and 0 <= rows[0]["positive"][0] <= 1

    # Now set the labels by hand and check which turn each example takes its label from.
    labels = user_turn_labels(tmp_path / "labels.jsonl")
    labels[("empatheticdialogues", "train", "hit:1_conv:2")] = [0.9, None, 0.1, None]
    corpus = next(s for s in sources if s.split == "train").read()
    example, from_second_dialogue = lookahead_examples(corpus, labels, "empatheticdialogues")
    assert example.user == "My daughter won the school spelling bee today!"
    assert example.text == "That is wonderful, you must be so proud of her."
    assert example.label == 0  # from u_2 = 0.1, not from u_1
    assert from_second_dialogue.user == "I moved last month and I still have no friends here."


def test_a_label_just_under_one_half_stays_negative(fixtures, tmp_path):
    """The labels file keeps the classifier's scores as they are: rounded to 4 places, 0.49996 would
    become a positive look-ahead label that the counts, taken before rounding, call negative."""
    sources = [s for s in find_corpora(fixtures) if (s.corpus, s.split) == ("empatheticdialogues", "train")]
    counts = label_user_turns(sources, make(lambda users, texts: [0.49996] * len(texts)), tmp_path / "labels.jsonl", quiet=True)
    assert counts["empatheticdialogues/train"]["positive"] == 0
    examples = list(lookahead_examples(sources[0].read(), user_turn_labels(tmp_path / "labels.jsonl"), "empatheticdialogues"))
    assert examples and all(e.label == 0 for e in examples)
    assert [p.name for p in tmp_path.iterdir()] == ["labels.jsonl"]  # no temporary file left beside it


@pytest.mark.parametrize(
    "row, message",
    [
        ("not json", "not a HappyBot labels row"),
        ('{"corpus": "dailydialog", "split": "train"}', "not a HappyBot labels row"),
        ('{"corpus": "dailydialog", "split": "train", "dialogue": "0", "positive": 0.7}', "field positive must be a list"),
        ('{"corpus": "dailydialog", "split": "train", "dialogue": "0", "positive": ["0.9", null]}', "field positive must be a list"),
        ('{"corpus": "dailydialog", "split": "train", "dialogue": "0", "positive": [NaN, null]}', "field positive must be a list"),
    ],
)
def test_a_malformed_labels_row_names_its_file_and_line(tmp_path, row, message):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"corpus": "dailydialog", "split": "train", "dialogue": "1", "positive": [0.2, null]}\n' + row + "\n")
    with pytest.raises(ValueError, match=f"{path}, line 2: {message}"):
        user_turn_labels(path)


def test_predictor_holds_out_validation_splits(fixtures, tmp_path):
    sources = [s for s in find_corpora(fixtures) if s.corpus in ("dailydialog", "personachat")]
    label_user_turns(sources, make("vader"), tmp_path / "l.jsonl", quiet=True)
    train, valid, used = predictor_data(sources, user_turn_labels(tmp_path / "l.jsonl"))
    assert len(train) == 2 + 1  # DailyDialog train + PersonaChat's only split
    assert valid == {}  # the one-exchange validation dialogue has no next user turn


def test_predictor_validation_examples_are_kept_out_of_training(fixtures, tmp_path):
    data = shutil.copytree(fixtures, tmp_path / "data")
    validation = data / "dailydialog" / "validation"
    (validation / "dialogues_validation.txt").write_text(
        "My cat is ill . __eou__ I am sorry , is she at the vet ? __eou__ Yes , she is doing better . __eou__ Good . __eou__\n"
    )
    (validation / "dialogues_emotion_validation.txt").write_text("5 0 4 0 \n")
    (validation / "dialogues_act_validation.txt").write_text("1 2 1 1 \n")
    sources = [s for s in find_corpora(data) if s.corpus in ("dailydialog", "personachat")]
    label_user_turns(sources, make("vader"), tmp_path / "l.jsonl", quiet=True)
    train, valid, used = predictor_data(sources, user_turn_labels(tmp_path / "l.jsonl"))
    (held_out,) = valid["dailydialog_validation"]
    assert (held_out.user, held_out.text) == ("My cat is ill .", "I am sorry , is she at the vet ?")
    assert valid["all_validation"] == [held_out]
    assert held_out not in train and len(train) == used["train_examples"] == 2 + 1


def test_labels_from_another_copy_are_refused(fixtures):
    corpus = next(s for s in find_corpora(fixtures) if (s.corpus, s.split) == ("empatheticdialogues", "train")).read()
    with pytest.raises(ValueError, match="cover 2 turns, the dialogue has 4"):
        list(lookahead_examples(corpus, {("empatheticdialogues", "train", "hit:1_conv:2"): [0.5, None]}, "empatheticdialogues"))


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"corpus": "c", "split": "train", "dialogue": "d", "positive": [7.5, null]}\n', r"line 1: field positive must be a list of probabilities in \[0, 1\]"),
        ('{"corpus": "c", "split": "train", "dialogue": "d", "positive": [-0.1]}\n', r"line 1: field positive must be a list of probabilities"),
        ('{"corpus": "c", "split": "train", "dialogue": "d", "positive": [0.1]}\n' * 2, "line 2: a second row for c train d"),
        (b'{"corpus": "c\xff"}\n', "line 1: byte 0xff at column 14 is not valid UTF-8"),
    ],
)
def test_a_labels_file_with_scores_out_of_range_repeated_rows_or_bad_bytes_is_refused_naming_its_line(tmp_path, content, message):
    path = tmp_path / "labels.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=message) as error:
        user_turn_labels(path)
    assert str(error.value).startswith(str(path))


def test_labels_that_cover_no_dialogue_of_a_split_are_refused_and_partial_cover_is_counted(fixtures):
    source = next(s for s in find_corpora(fixtures) if (s.corpus, s.split) == ("empatheticdialogues", "train"))
    with pytest.raises(ValueError, match=r"the labels cover none of the 2 dialogues of empatheticdialogues train \(.*train.csv\): label this data folder"):
        list(lookahead_examples(source.read(), {}, "empatheticdialogues"))
    corpus = source.read()
    first = corpus.dialogues[0]
    labelled = {("empatheticdialogues", "train", first.id): [0.9 if t.role == "user" else None for t in first.turns]}
    assert list(lookahead_examples(corpus, labelled, "empatheticdialogues"))
    assert corpus.skipped.as_dict()["no labels"] == {"count": 1, "first": [corpus.dialogues[1].id]}


def test_an_empty_validation_file_is_refused_not_scored_0(fixtures, tmp_path):
    """An accuracy over no examples read 0.0, and its majority-class rate 0.0, as if measured."""
    data = shutil.copytree(fixtures, tmp_path / "data")
    (data / "sst2" / "sentence_level" / "stsa.binary.dev").write_text("")
    with pytest.raises(ValueError, match=r"stsa.binary.dev holds no examples$"):
        classifier_data(find_corpora(data))
    with pytest.raises(ValueError, match=r"^validation set\(s\) sst2_dev hold no examples"):
        fine_tune([LabelledText("good", 1)], {"sst2_dev": []}, FineTuneConfig(device="cpu"))


def test_atomic_directory_keeps_the_old_folder_when_writing_fails(tmp_path):
    with atomic_directory(tmp_path / "model") as tmp:
        (tmp / "weights").write_text("old")
    with pytest.raises(OSError):
        with atomic_directory(tmp_path / "model") as tmp:
            (tmp / "weights").write_text("new, half written")
            raise OSError(28, "No space left on device")
    assert (tmp_path / "model" / "weights").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_an_epoch_visits_every_example_once_in_batches_of_similar_length():
    examples = [LabelledText(" ".join(["good"] * n), n % 2) for n in range(1, 201)]
    config = FineTuneConfig(batch_size=4, device="cpu")
    data = Encoded(examples, config)
    batches = data.epoch(random.Random(0))

    assert sorted(i for batch in batches for i in batch) == list(range(200))
    assert all(len(batch) == 4 for batch in batches)
    # One window of 50 batches covers all 200 examples, so each batch holds 4 neighbouring lengths.
    assert max(max(map(data.length, b)) - min(map(data.length, b)) for b in batches) == 3
    assert batches != sorted(batches)  # the batches themselves come in random order
