"""Follow-ups of detections: colour, variability, confirmation at another site, context."""


class FollowUps:
    """Work in progress (decision-pipeline issue)."""
