"""Read models folded from the event log.

Everything the TUI and the reports show is a projection: delete its saved
state and it is rebuilt from the log, identical. :class:`Projection` and
:class:`ProjectionStore` live in :mod:`control_center.projections.base`;
:class:`~control_center.projections.log_stats.LogStats` counts what the log holds.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from control_center.projections.base import Projection, ProjectionStore
    from control_center.projections.log_stats import LogStats

__all__ = ["LogStats", "Projection", "ProjectionStore"]

_LAZY = {
    "Projection": "control_center.projections.base",
    "ProjectionStore": "control_center.projections.base",
    "LogStats": "control_center.projections.log_stats",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
