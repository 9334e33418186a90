"""Corpus readers, the data model they share, and the builders of training examples."""

from .catalog import (
    DIALOGUE_CORPORA,
    LOOKED_FOR,
    VALIDATION_SPLITS,
    NoCorpusFound,
    Source,
    default_corpora,
    dialogue_sources,
    find_corpora,
    held_out_sources,
    training_sources,
)
from .chitchat import read_chitchat
from .dailydialog import read_dailydialog
from .emotions import DAILYDIALOG_EMOTION_SENTIMENT, ED_EMOTION_SENTIMENT
from .empathetic import read_empathetic_dialogues
from .examples import policy_triples, situation_sentiment
from .hub import read_hub
from .personachat import read_personachat
from .report import corpus_statistics, label_balance
from .schema import (
    NEGATIVE,
    POSITIVE,
    SYSTEM,
    USER,
    CorpusFormatError,
    Dialogue,
    DialogueCorpus,
    PolicyExample,
    SentimentCorpus,
    SentimentExample,
    SkipLog,
    Turn,
)
from .sst2 import read_sst2_glue, read_sst2_sentences, read_sst2_trees

__all__ = [
    "DAILYDIALOG_EMOTION_SENTIMENT",
    "DIALOGUE_CORPORA",
    "ED_EMOTION_SENTIMENT",
    "LOOKED_FOR",
    "NEGATIVE",
    "POSITIVE",
    "SYSTEM",
    "USER",
    "VALIDATION_SPLITS",
    "CorpusFormatError",
    "Dialogue",
    "DialogueCorpus",
    "NoCorpusFound",
    "PolicyExample",
    "SentimentCorpus",
    "SentimentExample",
    "SkipLog",
    "Source",
    "Turn",
    "corpus_statistics",
    "default_corpora",
    "dialogue_sources",
    "find_corpora",
    "held_out_sources",
    "label_balance",
    "policy_triples",
    "read_chitchat",
    "read_dailydialog",
    "read_empathetic_dialogues",
    "read_hub",
    "read_personachat",
    "read_sst2_glue",
    "read_sst2_sentences",
    "read_sst2_trees",
    "situation_sentiment",
    "training_sources",
]
