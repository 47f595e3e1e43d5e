"""Events about plugins."""

from __future__ import annotations

from control_center.eventlog.envelope import LogEvent


class PluginFailed(LogEvent):
    """A plugin raised, ran past its time budget or returned an invalid value.

    ``failure`` is one of ``"raised"``, ``"timeout"``, ``"invalid"``; the loop
    goes on without that plugin's contribution.
    """

    plugin: str
    hook: str
    failure: str
    message: str
