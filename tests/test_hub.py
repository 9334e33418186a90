"""``read_hub`` through the real ``datasets.load_dataset``, offline, on small local data folders.

Each test writes a folder of data files in the hub copy's schema (``train.jsonl``,
``validation.jsonl`` or parquet) and passes it as ``repo``; ``datasets`` maps the file names to splits.
"""

import json

import datasets  # in the dev extra: these tests must run, not skip
import pytest

from happybot_env.data import SYSTEM, USER, CorpusFormatError, read_hub


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network and no cache outside tmp_path; ``datasets`` reads its config at import, so patch it too."""
    cache = tmp_path / "hf" / "datasets"
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)


def write_jsonl(folder, split, rows):
    folder.mkdir(exist_ok=True)
    (folder / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


def ed_rows(conv_id, context, prompt, utterances, first_idx=1):
    """One conversation, one utterance a row, with the extra columns of the hub copy."""
    return [
        {"conv_id": conv_id, "utterance_idx": first_idx + i, "context": context, "prompt": prompt,
         "speaker_idx": i % 2, "utterance": text, "selfeval": "", "tags": ""}
        for i, text in enumerate(utterances)
    ]


def dd_row(dialog, emotion, act):
    return {"dialog": dialog, "emotion": emotion, "act": act}


def test_empathetic_rows_group_into_dialogues(tmp_path):
    train = ed_rows("hit:1_conv:2", "sad", "My dog died_comma_ sadly.", ["He was old_comma_ but.", "Sorry.", "Ok."])
    train += ed_rows("hit:2_conv:4", "joyful", "I passed!", ["I passed my exam!", "Congratulations!"])
    folder = write_jsonl(tmp_path / "ed", "train", train)
    write_jsonl(folder, "validation", ed_rows("hit:3_conv:6", "proud", "My son won.", ["He won the race.", "Wow."]))

    corpus = read_hub("empatheticdialogues", "train", repo=str(folder))

    assert (corpus.name, corpus.split) == ("empatheticdialogues", "train")
    assert [d.id for d in corpus.dialogues] == ["hit:1_conv:2", "hit:2_conv:4"]
    sad, joyful = corpus.dialogues
    assert [t.role for t in sad.turns] == [USER, SYSTEM, USER]
    assert [t.role for t in joyful.turns] == [USER, SYSTEM]
    assert sad.turns[0].text == "He was old, but."
    assert (sad.emotion, sad.situation) == ("sad", "My dog died, sadly.")
    assert joyful.turns[1].text == "Congratulations!"
    validation = read_hub("empatheticdialogues", "validation", repo=str(folder))
    assert [d.emotion for d in validation.dialogues] == ["proud"]


def test_dailydialog_labels_are_named_and_a_dialogue_with_an_unlabelled_utterance_is_skipped(tmp_path):
    folder = write_jsonl(tmp_path / "dd", "train", [
        dd_row(["Hi, how are you? ", "Great, thanks!"], [0, 4], [2, 1]),
        dd_row(["Close the door.", "Sure.", "Thank you."], [1, 0], [3, 4]),  # one utterance more than labels
    ])

    corpus = read_hub("dailydialog", "train", repo=str(folder))

    (first,) = corpus.dialogues
    assert [(t.role, t.text, t.emotion, t.act) for t in first.turns] == [
        (USER, "Hi, how are you?", "no_emotion", "question"),
        (SYSTEM, "Great, thanks!", "happiness", "inform"),
    ]
    [(reason, count)] = corpus.skipped.counts.items()
    assert reason == "labels and utterances differ in number: the speakers cannot be told" and count == 1


def test_sst2_from_parquet(tmp_path):
    folder = tmp_path / "sst2"
    folder.mkdir()
    rows = {"sentence": ["a gorgeous film ", "dull and slow"], "label": [1, 0], "idx": [0, 1]}
    datasets.Dataset.from_dict(rows).to_parquet(str(folder / "validation.parquet"))

    corpus = read_hub("sst2", "validation", repo=str(folder))

    assert [(e.text, e.label) for e in corpus.examples] == [("a gorgeous film", 1), ("dull and slow", 0)]


GOOD_ROWS = {
    "empatheticdialogues": ed_rows("c1", "sad", "p", ["a", "b"]),
    "dailydialog": [dd_row(["a", "b"], [0, 0], [1, 1])],
    "sst2": [{"sentence": "fine", "label": 1, "idx": 0}],
}


@pytest.mark.parametrize("corpus, column", [
    ("empatheticdialogues", "prompt"), ("dailydialog", "act"), ("sst2", "label"),
])
def test_missing_column_is_named(tmp_path, corpus, column):
    rows = [{k: v for k, v in row.items() if k != column} for row in GOOD_ROWS[corpus]]
    # a file not named after a split, selected with data_files= passed through to load_dataset
    folder = write_jsonl(tmp_path / "data", "rows", rows)

    with pytest.raises(CorpusFormatError, match=rf"lacks column\(s\) {column};"):
        read_hub(corpus, "train", repo=str(folder), data_files={"train": "rows.jsonl"})


@pytest.mark.parametrize("corpus, rows, message", [
    ("empatheticdialogues", ed_rows("c1", "sad", "p", ["a"]) + ed_rows("c1", "melancholy", "p", ["b"], first_idx=2),
     "row 2: field context holds unknown emotion 'melancholy'"),
    ("empatheticdialogues", ed_rows("c1", "sad", "p", ["a", "b"]) + ed_rows("c1", "sad", "p", ["c"], first_idx=4),
     "row 3: utterance_idx 4 of c1 does not follow 2"),
    ("empatheticdialogues", ed_rows("c1", "sad", "p", ["a"], first_idx=2),
     "row 1: conversation c1 starts at utterance_idx 2"),
    ("dailydialog", GOOD_ROWS["dailydialog"] + [dd_row(["a"], [7], [1])],
     "row 2: unknown emotion or act id 7"),
    ("dailydialog", [dd_row(["a"], [-1], [1])], "row 1: unknown emotion or act id -1"),
    ("dailydialog", [dd_row(["a", "b"], [0, 0], [1])], "row 1: 1 acts but 2 emotions"),
    ("dailydialog", [dd_row(["a", "  "], [0, 0], [1, 1])], "row 1: empty utterance"),
    ("sst2", GOOD_ROWS["sst2"] + [{"sentence": "meh", "label": 2, "idx": 1}],
     "row 2: expected a sentence and a label 0 or 1"),
])
def test_bad_row_is_named(tmp_path, corpus, rows, message):
    folder = write_jsonl(tmp_path / "data", "test", rows)

    with pytest.raises(CorpusFormatError, match=rf"\[test\], {message}"):
        read_hub(corpus, "test", repo=str(folder))


def test_hidden_sst2_test_labels_are_skipped_and_counted(tmp_path):
    folder = write_jsonl(tmp_path / "sst2", "test", [{"sentence": "a film", "label": -1, "idx": 0}])
    corpus = read_hub("sst2", "test", repo=str(folder))
    assert corpus.examples == [] and sum(corpus.skipped.counts.values()) == 1


def test_unknown_corpus():
    with pytest.raises(ValueError, match="corpus must be one of"):
        read_hub("personachat", "train", repo="unused")
