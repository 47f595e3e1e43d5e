"""astroplan's PriorityScheduler wrapped per site as a policy."""


class PrioritySchedulerPolicy:
    """Work in progress (decision-pipeline issue)."""
