"""The emotion -> sentiment table that turns emotion labels into binary sentiment labels.

EmpatheticDialogues' 32 emotions all map to positive or negative. Following the original
authors, 13 are plainly positive and 16 plainly negative; they left three ambiguous
(``nostalgic``, ``sentimental``, ``surprised``) and resolved them with a list they never published.
HappyBot maps those three to **positive**: the mean VADER compound score of their ED train
situations is +0.25, +0.17 and +0.21 (about +0.3 to +0.5 for the clearly positive emotions, and
-0.09 to -0.35 for the negative ones). ``jealous`` stays negative although its situations score
+0.22, because the situation text describes the other person's good fortune, not the speaker's
feeling.

DailyDialog's 7 emotions: ``happiness`` and ``surprise`` positive, ``anger``, ``disgust``, ``fear``
and ``sadness`` negative, and ``no_emotion`` neutral (``None``): it carries no sentiment label.
``surprise`` is the weakest call: its DailyDialog train utterances average +0.11 VADER compound,
above every negative emotion (-0.07 to -0.17) but below ``happiness`` (+0.44).

The README publishes this table; a test keeps the two identical.
"""

from __future__ import annotations

from .schema import NEGATIVE, POSITIVE

ED_EMOTION_SENTIMENT: dict[str, int] = {
    # positive
    "anticipating": POSITIVE,
    "caring": POSITIVE,
    "confident": POSITIVE,
    "content": POSITIVE,
    "excited": POSITIVE,
    "faithful": POSITIVE,
    "grateful": POSITIVE,
    "hopeful": POSITIVE,
    "impressed": POSITIVE,
    "joyful": POSITIVE,
    "prepared": POSITIVE,
    "proud": POSITIVE,
    "trusting": POSITIVE,
    # ambiguous in the original work, resolved as positive (see the module docstring)
    "nostalgic": POSITIVE,
    "sentimental": POSITIVE,
    "surprised": POSITIVE,
    # negative
    "afraid": NEGATIVE,
    "angry": NEGATIVE,
    "annoyed": NEGATIVE,
    "anxious": NEGATIVE,
    "apprehensive": NEGATIVE,
    "ashamed": NEGATIVE,
    "devastated": NEGATIVE,
    "disappointed": NEGATIVE,
    "disgusted": NEGATIVE,
    "embarrassed": NEGATIVE,
    "furious": NEGATIVE,
    "guilty": NEGATIVE,
    "jealous": NEGATIVE,
    "lonely": NEGATIVE,
    "sad": NEGATIVE,
    "terrified": NEGATIVE,
}

DAILYDIALOG_EMOTION_SENTIMENT: dict[str, int | None] = {
    "no_emotion": None,
    "anger": NEGATIVE,
    "disgust": NEGATIVE,
    "fear": NEGATIVE,
    "happiness": POSITIVE,
    "sadness": NEGATIVE,
    "surprise": POSITIVE,
}
