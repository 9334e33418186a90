"""stable-baselines3 in HappyBot-v0: a features extractor for its token-id observations.

    from stable_baselines3 import PPO
    model = PPO("MultiInputPolicy", gym.make("HappyBot-v0"), policy_kwargs=HAPPYBOT_POLICY_KWARGS)

SB3 hands a ``MultiInputPolicy`` the Dict observation with its Box values cast to float; the
extractor turns them back into ids, embeds them (starting from the pretrained encoder's word
embeddings when ``pretrained=True``), and mean-pools the context and the response written so far.
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from .seq2seq import pretrained_embeddings


class TokenFeaturesExtractor(BaseFeaturesExtractor):
    def __init__(self, observation_space: gym.spaces.Dict, embedding_dim: int = 64, pretrained: bool = False) -> None:
        super().__init__(observation_space, features_dim=2 * (384 if pretrained else embedding_dim))
        vocab_size = int(observation_space["context"].high.max()) + 1
        if pretrained:
            self.embedding = nn.Embedding.from_pretrained(pretrained_embeddings(), freeze=False, padding_idx=0)
        else:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)

    def _pool(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids.long()
        mask = (ids != 0).unsqueeze(-1).float()
        return (self.embedding(ids) * mask).sum(1) / mask.sum(1).clamp(min=1)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([self._pool(observations["context"]), self._pool(observations["response"])], -1)


HAPPYBOT_POLICY_KWARGS = {"features_extractor_class": TokenFeaturesExtractor, "net_arch": [64]}
