"""Reward models: how happy the user will be with a response (``current``, ``lookahead``, ``vader``)."""
