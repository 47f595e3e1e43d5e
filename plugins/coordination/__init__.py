"""Multi-site coordination: simultaneous, relay, confirmation, division of labour."""


class Coordination:
    """Work in progress (decision-pipeline issue)."""
