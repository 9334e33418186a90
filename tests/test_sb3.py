"""stable-baselines3 PPO trains in HappyBot-v0 through the token features extractor."""

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO

from agents.sb3 import TokenFeaturesExtractor


def test_ppo_runs_a_few_hundred_steps():
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
    model.learn(total_timesteps=384)
    assert model.num_timesteps >= 384
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))
    assert np.isfinite(model.logger.name_to_value["train/loss"])
