"""Finding plugins: entry points, in-process extras, selection and instantiation.

Built-in plugins are declared in OpenAstro's own ``pyproject.toml`` under the
``openastro.plugins`` entry-point group, exactly like third-party ones; this
module does not know which plugins exist.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from control_center.plugin_api import ENTRY_POINT_GROUP
from control_center.plugin_host.records import PluginError

__all__ = [
    "BUILT_IN_DISTRIBUTION",
    "IN_PROCESS",
    "PluginSource",
    "entry_point_sources",
    "extra_sources",
    "group_by_name",
    "instantiate",
    "origin_of",
    "select",
]

BUILT_IN_DISTRIBUTION = "openastro"
"""Distribution whose entry points are reported as ``"built-in"``."""

IN_PROCESS = "in-process"
"""Origin of plugin objects passed with ``extra=``."""


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin comes from, before it is imported.

    Parameters
    ----------
    name : str
        Name the plugin will be registered under.
    origin : str
        ``"built-in"``, ``"<distribution> <version>"`` or ``"in-process"``.
    path : str
        ``"module"`` or ``"module:attribute"``.
    load : callable
        Returns the plugin object (a module, a class or an instance); may raise.
    """

    name: str
    origin: str
    path: str
    load: Callable[[], object]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def origin_of(entry_point: importlib.metadata.EntryPoint) -> str:
    """``"built-in"`` for OpenAstro's own entry points, else ``"<dist> <version>"``.

    Parameters
    ----------
    entry_point : importlib.metadata.EntryPoint
        An entry point found through :func:`importlib.metadata.entry_points`.
    """
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return "unknown distribution"
    name = dist.metadata["Name"] or "unknown"
    if _canonical(name) == BUILT_IN_DISTRIBUTION:
        return "built-in"
    return f"{name} {dist.version}"


def entry_point_sources(
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> list[PluginSource]:
    """The plugins declared in the ``openastro.plugins`` entry-point group.

    Parameters
    ----------
    entry_points : iterable of EntryPoint, optional
        Use these instead of the installed ones (tests).
    """
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return [PluginSource(ep.name, origin_of(ep), ep.value, ep.load) for ep in entry_points]


def _object_path(obj: object) -> str:
    if inspect.ismodule(obj):
        return obj.__name__
    kind = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    path = f"{kind.__module__}:{kind.__qualname__}"
    return path if kind is obj else f"{path}()"


def extra_sources(extra: Mapping[str, object]) -> list[PluginSource]:
    """Sources for in-process plugin objects given by name (``PluginHost.load(extra=)``)."""
    return [PluginSource(name, IN_PROCESS, _object_path(obj), lambda obj=obj: obj)
            for name, obj in extra.items()]


def group_by_name(sources: Iterable[PluginSource],
                  overrides: Iterable[PluginSource] = ()) -> dict[str, list[PluginSource]]:
    """Sources by name; an override replaces every source of its name.

    Two distributions declaring the same name give a list of two: the first is
    loaded, the others are reported broken. The same entry point seen twice
    (one distribution found on two paths) counts once.
    """
    grouped: dict[str, list[PluginSource]] = {}
    for source in sources:
        same = grouped.setdefault(source.name, [])
        if not any(s.origin == source.origin and s.path == source.path for s in same):
            same.append(source)
    for source in overrides:
        grouped[source.name] = [source]
    return grouped


def select(available: Iterable[str], enabled: Sequence[str] | None,
           disabled: Sequence[str], always: Iterable[str] = ()) -> list[str]:
    """Names to load, sorted: ``enabled`` (all when None) and ``always``, minus ``disabled``.

    Parameters
    ----------
    available : iterable of str
        Every plugin name found.
    enabled : sequence of str or None
        Load only these (None: all).
    disabled : sequence of str
        Do not load these.
    always : iterable of str
        Loaded even when not in ``enabled`` (the in-process ``extra`` plugins),
        unless disabled.

    Raises
    ------
    PluginError
        If ``enabled`` or ``disabled`` names a plugin that is not available.
    """
    names = sorted(set(available))
    if isinstance(enabled, str) or isinstance(disabled, str):
        raise TypeError("enabled and disabled are sequences of plugin names, not a string")
    for option, asked in (("enabled", enabled or ()), ("disabled", disabled)):
        for name in asked:
            if name not in names:
                raise PluginError(f"unknown plugin {name!r} in {option}; "
                                  f"available: {', '.join(names) or 'none'}")
    chosen = set(names) if enabled is None else set(enabled) | set(always)
    return sorted(chosen - set(disabled))


def instantiate(obj: object) -> object:
    """The object to register: a class is instantiated with no arguments."""
    return obj() if inspect.isclass(obj) else obj
