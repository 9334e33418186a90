"""Builders that turn dialogues into training examples for the policy and the reward models."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .emotions import ED_EMOTION_SENTIMENT
from .schema import SYSTEM, USER, Dialogue, DialogueCorpus, PolicyExample, SentimentCorpus, SentimentExample, SkipLog


def policy_triples(dialogues: Iterable[Dialogue]) -> Iterator[PolicyExample]:
    """Yield one example for every system turn that answers a user turn.

    The first user turn of a dialogue has no system turn before it, so its context is that user
    turn alone; the last response of a dialogue has no next user turn (``next_user=None``): the
    policy can still learn from it, the look-ahead predictor cannot.
    """
    for dialogue in dialogues:
        turns = dialogue.turns
        for j in range(1, len(turns)):
            if turns[j].role != SYSTEM or turns[j - 1].role != USER:
                continue
            before = turns[j - 2] if j >= 2 and turns[j - 2].role == SYSTEM else None
            after = turns[j + 1] if j + 1 < len(turns) and turns[j + 1].role == USER else None
            yield PolicyExample(
                dialogue_id=dialogue.id,
                response_turn=j,
                previous_system=before.text if before else "",
                user=turns[j - 1].text,
                response=turns[j].text,
                next_user=after.text if after else None,
                emotion=dialogue.emotion or turns[j - 1].emotion,
            )


def situation_sentiment(corpus: DialogueCorpus) -> SentimentCorpus:
    """EmpatheticDialogues' situation texts labelled through ``ED_EMOTION_SENTIMENT``, one per dialogue."""
    examples, skipped = [], SkipLog()
    for dialogue in corpus.dialogues:
        if not dialogue.situation or not dialogue.situation.strip():
            skipped.add("dialogue without a situation text", dialogue.id)
            continue
        examples.append(SentimentExample(dialogue.situation.strip(), ED_EMOTION_SENTIMENT[dialogue.emotion]))
    return SentimentCorpus(
        name=f"{corpus.name}/situations", split=corpus.split, source=corpus.source, examples=examples, skipped=skipped
    )
