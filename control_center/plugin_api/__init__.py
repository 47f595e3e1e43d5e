"""The public plugin API: everything a plugin (built-in or third-party) imports.

Examples
--------
A constraint plugin in a distribution of its own::

    from control_center.plugin_api import Rejection, hookimpl

    @hookimpl
    def openastro_filter(context, candidates):
        return [Rejection(c.key, "no-u-band", c.filter, "not u")
                for c in candidates if c.filter == "u"]

registered in its ``pyproject.toml`` under ``[project.entry-points."openastro.plugins"]``.
"""

from control_center.eventlog.envelope import LogEvent, stream_id
from control_center.plugin_api.hookspecs import PROJECT, hookimpl, hookspec
from control_center.plugin_api.types import (
    Candidate,
    Choice,
    Conditions,
    DecisionContext,
    NightPlan,
    QueuedRequest,
    Rejection,
    Score,
    Settings,
    TelescopeState,
)

ENTRY_POINT_GROUP = "openastro.plugins"

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT",
    "Candidate",
    "Choice",
    "Conditions",
    "DecisionContext",
    "LogEvent",
    "NightPlan",
    "QueuedRequest",
    "Rejection",
    "Score",
    "Settings",
    "TelescopeState",
    "hookimpl",
    "hookspec",
    "stream_id",
]
