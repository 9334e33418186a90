"""HappyBot: empathetic dialogue agents trained with reinforcement learning.

``happybot_env.data`` reads the corpora, ``happybot_env.tokenizer`` holds the shared vocabulary.
"""
