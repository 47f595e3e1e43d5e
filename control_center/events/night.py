"""Events of a night (a run of the network over a span of time)."""

from __future__ import annotations

from datetime import datetime

from control_center.eventlog.envelope import LogEvent


class NightStarted(LogEvent):
    """A run of the network begins.

    ``sites`` maps each site name to ``{"dark": [[start_iso, end_iso], ...],
    "telescopes": [name, ...]}``: its dark intervals inside the run (Sun below
    -12 deg) and its telescopes.
    """

    network_name: str
    network_source: str
    start: datetime
    end: datetime
    seed: int
    sites: dict
    policy: str
    plugins: list


class NightEnded(LogEvent):
    """A run of the network ends (normally or interrupted)."""

    reason: str
