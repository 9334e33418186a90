"""Corpus statistics for ``train.py data``: what was read, what it yields, and what was skipped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .dailydialog import NAME as DAILYDIALOG
from .emotions import DAILYDIALOG_EMOTION_SENTIMENT
from .empathetic import NAME as EMPATHETIC_DIALOGUES
from .examples import policy_triples, situation_sentiment
from .personachat import NAME as PERSONACHAT
from .schema import POSITIVE, SYSTEM, DialogueCorpus, SentimentCorpus, SentimentExample
from .catalog import Source


def label_balance(examples: Iterable[SentimentExample]) -> dict[str, float]:
    counts = Counter(e.label for e in examples)
    total = counts[POSITIVE] + counts[1 - POSITIVE]
    return {
        "positive": counts[POSITIVE],
        "negative": counts[1 - POSITIVE],
        "positive_rate": round(counts[POSITIVE] / total, 4) if total else None,
    }


def _dialogue_stats(corpus: DialogueCorpus) -> dict:
    triples = list(policy_triples(corpus.dialogues))
    stats: dict = {
        "dialogues": len(corpus.dialogues),
        "utterances": corpus.num_utterances,
        "policy_triples": len(triples),
        "policy_triples_with_next_user": sum(t.next_user is not None for t in triples),
        "skipped": corpus.skipped.as_dict(),
    }
    if corpus.name == PERSONACHAT:
        stats["exchanges"] = sum(t.role == SYSTEM for d in corpus.dialogues for t in d.turns)
    if corpus.name == EMPATHETIC_DIALOGUES:
        situations = situation_sentiment(corpus)
        stats["sentiment_examples"] = len(situations.examples)
        stats["label_balance"] = label_balance(situations.examples)
        stats["skipped"].update(situations.skipped.as_dict())
    if corpus.name == DAILYDIALOG:
        sentiments = Counter(
            DAILYDIALOG_EMOTION_SENTIMENT[t.emotion] for d in corpus.dialogues for t in d.turns if t.emotion
        )
        stats["turn_sentiment"] = {
            "positive": sentiments[POSITIVE],
            "negative": sentiments[1 - POSITIVE],
            "neutral": sentiments[None],
        }
    return stats


def corpus_statistics(sources: Iterable[Source]) -> dict[str, dict[str, dict]]:
    """``{corpus: {split: statistics}}`` for every source, reading each once."""
    report: dict[str, dict[str, dict]] = {}
    for source in sources:
        corpus = source.read()
        if isinstance(corpus, SentimentCorpus):
            stats = {
                "sentiment_examples": len(corpus.examples),
                "label_balance": label_balance(corpus.examples),
                "skipped": corpus.skipped.as_dict(),
            }
        else:
            stats = _dialogue_stats(corpus)
        report.setdefault(source.corpus, {})[source.split] = {"source": corpus.source, **stats}
    return report
