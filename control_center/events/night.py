"""Events of a night (a run of the network over a span of time)."""

from __future__ import annotations

from datetime import datetime

from control_center.eventlog.envelope import LogEvent


class NightStarted(LogEvent):
    """A run of the network begins.

    ``sites`` maps each site name to ``{"dark": [[start_iso, end_iso], ...],
    "telescopes": [name, ...]}``: its dark intervals inside the run (Sun below
    -12 deg) and its telescopes. ``network`` is the whole network description
    (:meth:`~control_center.network.Network.to_dict`), ``settings`` the run
    settings (policy, scorer, seed, plugin time budget) and ``plugin_versions``
    maps each loaded plugin to the distribution and version that provided it:
    together they let an auditor replay the night from the log alone.
    """

    class_version = 2

    network_name: str
    network_source: str
    start: datetime
    end: datetime
    seed: int
    sites: dict
    policy: str
    plugins: list
    network: dict
    settings: dict
    plugin_versions: dict

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["network"] = {}
        state["settings"] = {"policy": state["policy"]}
        state["plugin_versions"] = {}


class NightEnded(LogEvent):
    """A run of the network ends (normally or interrupted)."""

    reason: str
