"""The dialogue policies and the agents that train them.

- ``Seq2SeqPolicy``: the paper's Bi-GRU encoder, GRU decoder with Luong dot attention and tied
  output layer (``Seq2SeqConfig(num_emotions=...)`` makes it MultiSeq);
- ``ReinforceAgent``: REINFORCE with a per-step baseline and MLE mixing, in ``HappyBotVectorEnv``;
- ``agents.sb3``: what stable-baselines3 needs to train in ``HappyBot-v0``.
"""

from .reinforce import ReinforceAgent, ReinforceConfig, UpdateStats
from .seq2seq import ActingState, Decoded, Seq2SeqConfig, Seq2SeqPolicy, act

__all__ = ["ActingState", "Decoded", "ReinforceAgent", "ReinforceConfig", "Seq2SeqConfig", "Seq2SeqPolicy", "UpdateStats", "act"]
