"""``openastro plugins``: what plugins are installed, where they come from, if they work.

Needs neither a database nor a network file: plugins are imported and
registered, not configured.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from control_center.plugin_host import PluginHost, PluginInfo

__all__ = ["add_plugins_parser", "format_table", "run_plugins_list"]

_HOOK_PREFIX = "openastro_"


def add_plugins_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``plugins list [--json]`` to the ``openastro`` command line.

    Parameters
    ----------
    subparsers
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``plugins`` parser; each action sets ``func(args) -> int``.
    """
    plugins = subparsers.add_parser("plugins", help="inspect installed plugins",
                                    description="Inspect installed plugins.")
    actions = plugins.add_subparsers(dest="plugins_command", metavar="ACTION")
    listing = actions.add_parser(
        "list", help="list every plugin: origin, hooks, status",
        description="List every plugin found in the openastro.plugins entry-point group: "
                    "its origin (built-in or distribution and version), the hooks it "
                    "implements and whether it loads.")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=run_plugins_list)
    plugins.set_defaults(func=lambda args: _usage(plugins))
    return plugins


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_plugins_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print every plugin as a table (or JSON with ``args.json``); returns 0."""
    out = out if out is not None else sys.stdout
    with PluginHost.discover(on_failure=lambda failure: None) as host:
        infos = host.plugins()
    if getattr(args, "json", False):
        json.dump([info.to_dict() for info in infos], out, indent=2)
        out.write("\n")
    else:
        out.write(format_table(infos))
    return 0


def _short(hooks: Sequence[str]) -> str:
    names = [h.removeprefix(_HOOK_PREFIX) for h in hooks]
    return ", ".join(names) if names else "-"


def format_table(infos: Sequence[PluginInfo]) -> str:
    """A plain-text table: name, origin, hooks (without the ``openastro_`` prefix), status.

    Examples
    --------
    >>> from control_center.plugin_host import PluginInfo
    >>> print(format_table([PluginInfo("greedy", "built-in", "plugins.greedy",
    ...                                ("openastro_choose",))]), end="")
    NAME    ORIGIN    HOOKS   STATUS
    greedy  built-in  choose  ok
    """
    if not infos:
        return "no plugins found in the 'openastro.plugins' entry-point group\n"
    rows = [("NAME", "ORIGIN", "HOOKS", "STATUS")]
    rows += [(i.name, i.origin, _short(i.hooks), i.status) for i in infos]
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                        row[3]]).rstrip()
             for row in rows]
    return "\n".join(lines) + "\n"
