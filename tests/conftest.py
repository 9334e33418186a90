import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from happybot_env.tokenizer import load_tokenizer
from reward_models import RewardModel

REPO_ROOT = Path(__file__).resolve().parents[1]
# Small hand-written corpora in every format, under neutral names (never copies of the real ones).
SOURCES = Path(__file__).parent / "fixtures" / "corpora"
# Where each goes in the layout that the original publishers' archives unpack to.
LAYOUT = {
    "empatheticdialogues/train.csv": "ed_train.csv",
    "empatheticdialogues/valid.csv": "ed_valid.csv",
    "dailydialog/train/dialogues_train.txt": "dd_train_text.txt",
    "dailydialog/train/dialogues_emotion_train.txt": "dd_train_emotion.txt",
    "dailydialog/train/dialogues_act_train.txt": "dd_train_act.txt",
    "dailydialog/validation/dialogues_validation.txt": "dd_validation_text.txt",
    "dailydialog/validation/dialogues_emotion_validation.txt": "dd_validation_emotion.txt",
    "dailydialog/validation/dialogues_act_validation.txt": "dd_validation_act.txt",
    "personachat/valid_self_original_no_cands.txt": "personachat_valid.txt",
    "sst2/glue/train.tsv": "sst2_glue_train.tsv",
    "sst2/glue/dev.tsv": "sst2_glue_dev.tsv",
    "sst2/sentence_level/stsa.binary.train": "sst2_sentences_train.txt",
    "sst2/sentence_level/stsa.binary.dev": "sst2_sentences_dev.txt",
    "sst2/trees/train.txt": "sst2_trees_train.txt",
    "sst2/trees/dev.txt": "sst2_trees_dev.txt",
}


def _lay_out_fixtures() -> Path:
    root = Path(tempfile.mkdtemp(prefix="happybot-fixtures-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for target, source in LAYOUT.items():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOURCES / source, root / target)
    return root


FIXTURES = _lay_out_fixtures()
"""A data directory holding every fixture corpus where ``train.py --data-dir`` looks for it."""


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def hub_offline(monkeypatch):
    """Hugging Face Hub offline mode, in force: huggingface_hub reads HF_HUB_OFFLINE once, when it is
    imported, so setting the variable inside a test alone would change nothing."""
    from huggingface_hub import constants, is_offline_mode

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert is_offline_mode()


@pytest.fixture
def write(tmp_path):
    """Write ``content`` (text, or bytes as they are) to ``tmp_path/name`` and return the path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 2-layer BERT classifier with the shared vocabulary, saved as a Hugging Face folder."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    folder = tmp_path_factory.mktemp("tiny-bert")
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # make the head decisive so that scores differ between inputs
        model.classifier.weight.normal_(0, 3)
    model.save_pretrained(folder)
    load_tokenizer().save_pretrained(folder)
    return folder


class RaisesWhileScoring(RewardModel):
    """A RewardModel subclass that fails inside scoring: nothing wraps it as CallableReward wraps a callable."""

    name = "on fire"

    def __init__(self, token_ids: bool) -> None:
        self.token_ids = token_ids

    @property
    def accepts_token_ids(self) -> bool:
        return self.token_ids

    def score(self, users, responses):
        raise RuntimeError("GPU on fire")

    def score_token_ids(self, user_ids, response_ids):
        raise RuntimeError("GPU on fire")
