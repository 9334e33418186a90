"""stable-baselines3 PPO trains in HappyBot-v0 through the token features extractor."""

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO

from agents.sb3 import TokenFeaturesExtractor


def test_ppo_trains_the_token_features_extractor_for_a_few_hundred_steps():
    env = gym.make("HappyBot-v0", reward_model="vader", corpus=["I failed my exam.", "We got a puppy!"], max_response_tokens=8)
    model = PPO(
        "MultiInputPolicy",
        env,
        policy_kwargs={"features_extractor_class": TokenFeaturesExtractor, "features_extractor_kwargs": {"embedding_dim": 16}, "net_arch": []},
        n_steps=128,
        batch_size=64,
        n_epochs=2,
        seed=0,
        device="cpu",
    )
    extractor = model.policy.features_extractor
    before = extractor.embedding.weight.detach().clone()
    model.learn(total_timesteps=384)
    assert model.num_timesteps >= 384 and np.isfinite(model.logger.name_to_value["train/loss"])

    obs, _ = env.reset(seed=0)
    context_ids = [int(t) for t in obs["context"] if t]
    changed = (extractor.embedding.weight.detach() != before).any(1)
    assert changed[context_ids].all()  # PPO's gradients reached the embeddings of the tokens it read
    assert not changed[0]  # [PAD], which the pooling leaves out
    # the features are the mean embedding of the context's ids, then of the (empty) response's
    features = extractor(model.policy.obs_to_tensor(obs)[0])
    assert features.shape == (1, 32)
    torch.testing.assert_close(features[0, :16], extractor.embedding.weight[context_ids].mean(0))
    torch.testing.assert_close(features[0, 16:], torch.zeros(16))
