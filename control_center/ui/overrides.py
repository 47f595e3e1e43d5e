"""Observers' overrides asked from the console, and how they are recorded.

A view builds an :class:`Override` from what the observer selected; the
console asks for confirmation (destructive ones) and the details (reason,
priority...), then :func:`apply_override` records it in a worker thread
through :mod:`control_center.overrides` (the same functions as the CLI). No
Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACTIONS", "DESTRUCTIVE", "Field", "Override", "apply_override"]

ACTIONS = ("pause", "resume", "veto", "force", "set_priority", "rate", "acknowledge_alert")
"""The functions of :mod:`control_center.overrides` the console calls."""
DESTRUCTIVE = frozenset({"pause", "veto", "force"})
"""Overrides that change what the telescopes do: the console asks for confirmation."""
_NEEDS_NETWORK = frozenset({"pause", "resume", "veto", "force"})


@dataclass(frozen=True)
class Field:
    """One detail the observer gives with an override.

    ``kind`` is ``text``, ``number`` or ``choice`` (one of ``options``);
    ``required`` fields must not be left empty.
    """

    name: str
    label: str
    kind: str = "text"
    options: tuple[str, ...] = ()
    value: str = ""
    required: bool = False


@dataclass(frozen=True)
class Override:
    """An override to record: the function, its arguments, and how to say it.

    Attributes
    ----------
    action : str
        One of :data:`ACTIONS`.
    args : dict
        Keyword arguments of the function besides ``log``, ``network``,
        ``observer`` and ``sim_time``; the observer's answers to :attr:`fields`
        are added to them.
    summary : str
        What it does, in words (``pause telescope pachon-1m``).
    fields : tuple of Field
        What to ask the observer.
    """

    action: str
    args: dict[str, Any]
    summary: str
    fields: tuple[Field, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown override {self.action!r} (one of {', '.join(ACTIONS)})")

    @property
    def destructive(self) -> bool:
        return self.action in DESTRUCTIVE

    def with_answers(self, answers: dict[str, Any]) -> Override:
        """The override with the observer's answers merged into its arguments."""
        return Override(self.action, {**self.args, **answers}, self.summary, self.fields)


def apply_override(url: str, override: Override, observer: str) -> Any:
    """Record ``override`` by ``observer`` in the log at ``url``; returns the event.

    The simulated time is the newest in the log (the time the console shows);
    the network is the one recorded by the log's last night.

    Raises
    ------
    control_center.overrides.OverrideError
        When the override names something that does not exist, or the log
        holds no night.
    control_center.eventlog.LogError
        When the log cannot be opened or written.
    """
    from control_center import overrides
    from control_center.eventlog import EventLog

    function = getattr(overrides, override.action)
    with EventLog.open(url, create=False) as log:
        newest = next(iter(log.read_reverse(limit=1)), None)
        if newest is None or newest.sim_time is None:
            raise overrides.OverrideError(f"the log {log.url} holds no event yet")
        kwargs = {"observer": observer, "sim_time": newest.sim_time, **override.args}
        if override.action in _NEEDS_NETWORK:
            return function(log, _night_network(log), **kwargs)
        return function(log, **kwargs)


def _night_network(log: Any) -> Any:
    from control_center.events import NightStarted
    from control_center.network import NetworkFileError, network_from_dict
    from control_center.overrides import OverrideError

    night = next(iter(log.read_reverse(types=[NightStarted], limit=1)), None)
    if night is None or not night.event.network:
        raise OverrideError(f"the log {log.url} holds no night with its network description")
    try:
        return network_from_dict(night.event.network, source=night.event.network_source)
    except NetworkFileError as exc:
        raise OverrideError(f"the night's network cannot be read: {exc}") from None
