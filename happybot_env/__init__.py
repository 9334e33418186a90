"""HappyBot: empathetic dialogue agents trained with reinforcement learning.

Importing this package registers ``HappyBot-v0`` with Gymnasium::

    import gymnasium as gym
    env = gym.make("happybot_env:HappyBot-v0", reward_model="vader")
    envs = gym.make_vec("HappyBot-v0", num_envs=64, vectorization_mode="vector_entry_point", device="cpu")

``happybot_env.data`` reads the corpora and ``happybot_env.tokenizer`` holds the shared vocabulary.
"""

from gymnasium.envs.registration import register

register(
    id="HappyBot-v0",
    entry_point="happybot_env.env:HappyBotEnv",
    vector_entry_point="happybot_env.vector:HappyBotVectorEnv",
)
