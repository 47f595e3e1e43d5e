"""Alerts (VOEvent, GCN): candidates for alert fields and gravitational-wave tiles."""


class AlertResponder:
    """Work in progress (decision-pipeline issue)."""
