"""Opportunistic work when the primary programmes cannot run."""


class Opportunistic:
    """Work in progress (decision-pipeline issue)."""
