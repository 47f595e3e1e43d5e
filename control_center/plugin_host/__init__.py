"""The plugin host: finds, loads and calls OpenAstro plugins, isolating their failures.

Plugins, built-in and third-party alike, are found through the
``openastro.plugins`` entry-point group. Every hook call goes through the host,
which calls each implementation separately with a time budget and turns an
exception, a timeout or an invalid return value into a :class:`PluginFailure`
instead of an error.

Examples
--------
>>> from control_center.plugin_host import PluginHost
>>> host = PluginHost.discover()           # doctest: +SKIP
>>> [(p.name, p.origin, p.status) for p in host.plugins()]  # doctest: +SKIP
[('constraints', 'built-in', 'ok'), ...]
"""

from control_center.plugin_host.host import PluginHost
from control_center.plugin_host.records import (
    FailureKind,
    PluginError,
    PluginFailure,
    PluginInfo,
)

__all__ = ["FailureKind", "PluginError", "PluginFailure", "PluginHost", "PluginInfo"]
