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

__all__ = ["ACTIONS", "DESTRUCTIVE", "Field", "Override", "acknowledge_anomaly",
           "apply_override"]

ACTIONS = ("pause", "resume", "veto", "force", "set_priority", "rate", "acknowledge_alert",
           "acknowledge_anomaly")
"""The functions of :mod:`control_center.overrides` the console calls (and
:func:`acknowledge_anomaly`, this module's)."""
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

    function = (acknowledge_anomaly if override.action == "acknowledge_anomaly"
                else getattr(overrides, override.action))
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


def acknowledge_anomaly(log: Any, *, observer: str, sim_time: Any, observation_id: str,
                        note: str = "") -> Any:
    """Acknowledge the anomalies found in one observation (an anomalous frame, transients).

    Recorded as ``AlertAcknowledged`` with ``alert_id`` ``anomaly:<observation_id>``
    (the Alerts view's key), by ``observer:<observer>``, like every override.

    Raises
    ------
    control_center.overrides.OverrideError
        When the log holds no anomalous frame nor detection in that observation, or the
        observer's name is not one word.
    """
    from control_center.eventlog import stream_id
    from control_center.events import FrameAnalyzed, TransientDetected
    from control_center.events.override import AlertAcknowledged
    from control_center.overrides import OverrideError
    from control_center.ui.model.alerts_fold import ANOMALOUS_VERDICTS, anomaly_key

    observer = observer.strip()
    if not observer or any(c.isspace() for c in observer):
        raise OverrideError(f"observer name must be one word, got {observer!r}")
    found = False
    for recorded in log.read(types=[FrameAnalyzed, TransientDetected]):
        event = recorded.event
        if event.observation_id == observation_id and (
                isinstance(event, TransientDetected)
                or (event.measures or {}).get("verdict") in ANOMALOUS_VERDICTS):
            found = True
            break
    if not found:
        raise OverrideError(f"no anomaly nor detection in observation {observation_id!r} "
                            f"in {log.url}")
    with log.batch(actor=f"observer:{observer}", sim_time=sim_time) as batch:
        return batch.add(AlertAcknowledged, stream=stream_id("observer", observer),
                         observer=observer, alert_id=anomaly_key(observation_id), note=note)
