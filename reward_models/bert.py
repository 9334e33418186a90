"""A Hugging Face sequence-classification model as a reward model: P(positive) of its input.

``input="response"`` scores the response alone (the paper's sentiment classifier, ``current``);
``input="pair"`` scores ``[user; response]`` (the look-ahead predictor, ``lookahead``: the
probability that the user's next turn is positive).

A model folder is either a full model (``config.json`` + ``model.safetensors``) or a LoRA adapter
over the pretrained encoder (``adapter_config.json`` + ``adapter_model.safetensors``), as HappyBot
ships. Weights load from safetensors only. A ``happybot.json`` beside them, written by HappyBot's
training stages, says which input the model reads.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, BatchEncoding, PreTrainedModel
from transformers.utils import logging as hf_logging

from happybot_env.atomic import read_json_object
from happybot_env.tokenizer import encoder_path, load_tokenizer, uncut_ids

from .base import RewardModel
from .inputs import build_inputs, cut_ids, keep_lengths, pad_token_lists

METADATA_FILE = "happybot.json"
INPUTS = ("response", "pair")

# The attention kernels scoring may use: every one but cuDNN's. On Hopper GPUs (H100, H200) PyTorch
# tries cuDNN attention first, and cuDNN builds an execution graph for each new batch size and
# length it sees, reported at 20 to 40 ms of host time apiece. The environment scores the episodes
# that end on each step, a new batch size almost every call, so it can spend most of its time
# building graphs; the other fused kernels need no such build.
SCORING_ATTENTION_BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` is CUDA when there is a GPU, else the CPU; a CUDA device that is not there is refused here,
    where the message can say so, rather than at the first tensor moved to it."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device {device!r}: {e}") from None
    if resolved.type == "cuda" and not (torch.cuda.is_available() and (resolved.index or 0) < torch.cuda.device_count()):
        raise ValueError(f"device {device!r}: no such CUDA device here (torch {torch.__version__}, "
                         f"{torch.cuda.device_count()} CUDA devices); use 'cpu' or 'auto'")
    return resolved


def positive_indices(model: PreTrainedModel, folder: Path) -> list[int]:
    """The outputs that mean positive sentiment, whose probabilities a score adds up: every label
    named so ("POSITIVE", "very positive", "pos"; not "not positive"), else index 1 of a two-label model.

    A five-point scale has two: scoring "Positive" alone would give a "Very Positive" text about 0.
    """
    names = {int(i): str(name) for i, name in model.config.id2label.items()}

    def means_positive(name: str) -> bool:
        words = re.findall(r"[a-z]+", name.lower())
        return any(w.startswith("pos") for w in words) and not {"not", "non", "no"} & set(words)

    matches = sorted(i for i, name in names.items() if means_positive(name))
    if matches and len(matches) < len(names):
        return matches
    if not matches and model.config.num_labels == 2:
        return [1]
    raise ValueError(f"{folder}: cannot tell which of the labels {list(names.values())} means positive sentiment")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report and progress bar for a load whose gaps are expected.

    Also silences the FutureWarning that peft raises by calling a renamed transformers method.
    """
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:  # left off when they were off before: train.py --quiet turns them off for the whole run
            hf_logging.enable_progress_bar()


def load_classifier(folder: str | Path) -> PreTrainedModel:
    """Load a sequence-classification model or a HappyBot LoRA adapter, safetensors only.

    Weights come back in float32 whatever precision they were saved in (a half-precision copy of
    the encoder, say): adapters merge and models train in full precision, and scoring casts later.
    """
    folder = Path(folder)
    if (folder / "adapter_config.json").is_file():
        from peft import PeftModel

        weights = folder / "adapter_model.safetensors"
        if not weights.is_file():
            raise ValueError(f"{folder}: adapter weights must be in adapter_model.safetensors")
        with safe_open(weights, "pt") as adapter:
            if not any(".classifier." in key for key in adapter.keys()):
                # peft would leave the base's new head as it starts, random: scores would change with every load
                raise ValueError(f"{weights} holds no classification head: save the adapter with modules_to_save=['classifier']")
        config = read_json_object(folder / "adapter_config.json")
        with quiet_transformers():  # the base has no head yet: the adapter brings it, so no warning
            base = AutoModelForSequenceClassification.from_pretrained(
                encoder_path(), num_labels=config.get("num_labels", 2), local_files_only=True, use_safetensors=True
            ).float()
            return PeftModel.from_pretrained(base, folder).merge_and_unload()
    if not (folder / "config.json").is_file():
        raise ValueError(f"{folder} is not a Hugging Face model folder (no config.json or adapter_config.json)")
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    architectures = config.architectures or []
    if not any(a.endswith("ForSequenceClassification") for a in architectures):
        raise ValueError(
            f"{folder} holds {', '.join(architectures) or 'a model of unknown architecture'}, "
            "not a sequence-classification model (its head would be random)"
        )
    return AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True, use_safetensors=True).float()


def position_offset(model: PreTrainedModel) -> int:
    """The first position id: 0 for BERT; ``padding_idx + 1`` for RoBERTa-like models, which number
    positions after the padding id, so that 514 position embeddings place 512 tokens."""
    table = getattr(getattr(model.base_model, "embeddings", None), "position_embeddings", None)
    padding_idx = getattr(table, "padding_idx", None)
    return 0 if padding_idx is None else padding_idx + 1


class SequenceClassifierReward(RewardModel):
    """Scores pairs with a classifier, in batches, in bf16 on a GPU and fp32 on the CPU."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer,
        *,
        input: str = "response",
        name: str = "classifier",
        positive: Sequence[int] = (1,),
        max_length: int = 128,
        batch_size: int | None = None,
        device: str | torch.device = "auto",
        licences: Sequence[str] = (),
    ) -> None:
        if input not in INPUTS:
            raise ValueError(f"input must be one of {INPUTS}, got {input!r}")
        self.device = resolve_device(device)
        dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.model = model.to(self.device, dtype).eval()
        self.tokenizer = tokenizer
        self.input = input
        self.name = name
        self.licences = tuple(licences)
        self.positive = list(positive)
        shortest = tokenizer.num_special_tokens_to_add(pair=input == "pair") + 1
        if max_length < shortest:
            raise ValueError(
                f"{name}: max_length={max_length} leaves no room for the text beside the special tokens: give at least {shortest}"
            )
        self.max_length = max_length
        self.batch_size = batch_size or (4096 if self.device.type == "cuda" else 64)
        self._shared_vocabulary = tokenizer.get_vocab() == load_tokenizer().get_vocab()
        if not self._shared_vocabulary and not tokenizer.is_fast:
            # a pair is cut on the encodings of the Rust tokenizers library, which a Python tokenizer has not
            raise ValueError(
                f"{name}: a reward model with its own vocabulary needs a fast tokenizer, not {type(tokenizer).__name__}"
            )

    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path,
        *,
        input: str | None = None,
        name: str | None = None,
        max_length: int | None = None,
        batch_size: int | None = None,
        device: str | torch.device = "auto",
    ) -> SequenceClassifierReward:
        """Load a reward model from a folder; ``input``, ``name`` and ``max_length`` default to what it was trained with.

        ``max_length`` is at most the model's position embeddings, and the tokenizer (the folder's own,
        else the shared one) must fit the model's embeddings: either mismatch is refused here, before
        an out-of-range index fails deep in torch, or on a GPU poisons the whole process.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"reward model folder {folder} does not exist")
        metadata_path = folder / METADATA_FILE
        metadata = read_json_object(metadata_path) if metadata_path.is_file() else {}
        licences = metadata.get("licences", [])
        if not isinstance(licences, list) or not all(isinstance(licence, str) for licence in licences):
            raise ValueError(f"{metadata_path}: field licences must be a list of strings")
        model = load_classifier(folder)
        has_tokenizer = (folder / "tokenizer_config.json").is_file()
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True) if has_tokenizer else load_tokenizer()
        if has_tokenizer and len(tokenizer) > model.config.vocab_size:
            raise ValueError(
                f"{folder}: its tokenizer has {len(tokenizer)} token ids but the model's embeddings only "
                f"{model.config.vocab_size} (config.vocab_size): save the model's own tokenizer in the folder"
            )
        if not has_tokenizer and len(tokenizer) != model.config.vocab_size:
            # a model of another vocabulary (RoBERTa's 50,265 ids, say) would score WordPiece ids as its own
            raise ValueError(
                f"{folder}: the folder has no tokenizer files, and HappyBot's shared tokenizer has {len(tokenizer)} token ids "
                f"where the model's embeddings have {model.config.vocab_size} (config.vocab_size): save the model's own tokenizer in the folder"
            )
        positions, offset = getattr(model.config, "max_position_embeddings", None), position_offset(model)
        if positions:
            positions -= offset
        if max_length is None:
            trained = metadata.get("config", {}).get("max_length", 128)
            max_length = min(trained, positions) if positions else trained
        elif positions and max_length > positions:
            raise ValueError(
                f"{folder}: max_length={max_length} is more than the model's {positions} positions "
                "(config.max_position_embeddings" + (f", less the {offset} its position ids start at)" if offset else ")")
            )
        return cls(
            model,
            tokenizer,
            input=input or metadata.get("input", "response"),
            name=name or metadata.get("name", str(folder)),
            positive=positive_indices(model, folder),
            max_length=max_length,
            batch_size=batch_size,
            device=device,
            licences=licences,
        )

    @property
    def accepts_token_ids(self) -> bool:
        return self._shared_vocabulary

    def score(self, users: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        if self._shared_vocabulary:
            n = len(responses)
            pair = self.input == "pair"
            users_ids, responses_ids = cut_ids(
                uncut_ids(users, self.tokenizer) if pair else None,
                uncut_ids(responses, self.tokenizer),
                self.max_length - self.tokenizer.num_special_tokens_to_add(pair=pair),
            )
            # score in order of length so that each batch pads to similar lengths
            order = sorted(range(n), key=lambda i: len(users_ids[i]) + len(responses_ids[i]))
            pad = self.tokenizer.pad_token_id
            scores = self.score_token_ids(
                pad_token_lists([users_ids[i] for i in order], pad), pad_token_lists([responses_ids[i] for i in order], pad)
            )
            unsorted = torch.empty_like(scores)
            unsorted[torch.tensor(order, device=scores.device, dtype=torch.long)] = scores
            return unsorted
        scores = []
        for start in range(0, len(responses), self.batch_size):
            end = start + self.batch_size
            scores.append(self._positive_probability(self._own_vocabulary_batch(users[start:end], responses[start:end])))
        return torch.cat(scores) if scores else torch.zeros(0)

    def _own_vocabulary_batch(self, users: Sequence[str], responses: Sequence[str]) -> BatchEncoding:
        """Pairs in the model's own vocabulary, cut by ``keep_lengths``, then given its tokenizer's special tokens.

        The tokenizer's own truncation would cut the user turn and the response from the same side.
        """
        pair = self.input == "pair"

        def encodings(texts: Sequence[str]) -> list:  # verbose=False: texts over 512 tokens are cut below
            # a special token written in a text is text, as in the shared vocabulary's ``uncut_ids``
            return self.tokenizer(list(texts), add_special_tokens=False, split_special_tokens=True, verbose=False).encodings

        response_encodings = encodings(responses)
        user_encodings = encodings(users) if pair else [None] * len(responses)
        user_keep, response_keep = keep_lengths(
            torch.tensor([len(u) if u is not None else 0 for u in user_encodings], dtype=torch.long),
            torch.tensor([len(r) for r in response_encodings], dtype=torch.long),
            self.max_length - self.tokenizer.num_special_tokens_to_add(pair=pair),
        )
        fields = {"input_ids": "ids", "token_type_ids": "type_ids", "attention_mask": "attention_mask"}
        fields = {key: field for key, field in fields.items() if key in self.tokenizer.model_input_names}
        sequences = []
        kept = zip(user_encodings, response_encodings, user_keep.tolist(), response_keep.tolist())
        for user, response, user_kept, response_kept in kept:
            response.truncate(response_kept)
            if user is not None:
                user.truncate(user_kept, direction="left")
                encoding = self.tokenizer.backend_tokenizer.post_process(user, response)
            else:
                encoding = self.tokenizer.backend_tokenizer.post_process(response)
            sequences.append({key: getattr(encoding, field) for key, field in fields.items()})
        return self.tokenizer.pad(sequences, return_tensors="pt")

    def score_token_ids(self, user_ids: torch.Tensor, response_ids: torch.Tensor) -> torch.Tensor:
        if not self._shared_vocabulary:
            raise NotImplementedError(f"{self.name} has its own vocabulary: score text instead")
        scores = []
        for start in range(0, response_ids.shape[0], self.batch_size):
            batch = build_inputs(
                user_ids[start : start + self.batch_size].to(self.device) if self.input == "pair" else None,
                response_ids[start : start + self.batch_size].to(self.device),
                max_length=self.max_length,
                cls_id=self.tokenizer.cls_token_id,
                sep_id=self.tokenizer.sep_token_id,
                pad_id=self.tokenizer.pad_token_id,
            )
            scores.append(self._positive_probability(batch))
        return torch.cat(scores) if scores else torch.zeros(0)

    @torch.inference_mode()
    def _positive_probability(self, batch) -> torch.Tensor:
        with sdpa_kernel(SCORING_ATTENTION_BACKENDS):
            logits = self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits
        return logits.float().softmax(-1)[:, self.positive].sum(-1)
