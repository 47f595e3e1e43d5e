"""The Log view's fold: the newest events as one-line rows, filtered.

Only the rows that stay in the tail are decoded (the newest ``keep`` of each
read), so a burst costs what is shown, not what was appended. Changing the
filter refills the tail from the log, newest first (:func:`tail_from_log`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from control_center.eventlog import LogError
from control_center.eventlog.envelope import LogEvent
from control_center.events.summary import payload_summary
from control_center.ui.model.views import TailFilter, TailRow

__all__ = ["LogTail", "summarize", "tail_from_log", "tail_row"]

REFILL_SCAN_LIMIT = 50_000
"""Records looked at (newest first) when a new filter refills the tail."""


class LogTail:
    """The newest ``keep`` events that match :attr:`filter`, oldest first."""

    def __init__(self, keep: int = 300) -> None:
        self.keep = keep
        self.filter = TailFilter()
        self.version = 0
        self._rows: deque[TailRow] = deque(maxlen=keep)

    def fold(self, records: Sequence[Any]) -> None:
        """Fold recorded events (log order): decode only the newest matching ``keep``."""
        picked = _pick(reversed(records), self.filter, self.keep)
        if picked:
            self._rows.extend(reversed(picked))
            self.version += 1

    def replace(self, tail_filter: TailFilter, rows: Iterable[TailRow]) -> None:
        """Set a new filter and the rows it selects (from :func:`tail_from_log`)."""
        self.filter = tail_filter
        self._rows = deque(rows, maxlen=self.keep)
        self.version += 1

    def clear(self) -> None:
        self._rows.clear()
        self.version += 1

    def rows(self) -> tuple[TailRow, ...]:
        return tuple(self._rows)


def tail_from_log(log: Any, tail_filter: TailFilter, keep: int, *,
                  before: int | None = None) -> list[TailRow]:
    """The newest ``keep`` rows of ``log`` matching ``tail_filter`` (oldest first).

    Looks at most at :data:`REFILL_SCAN_LIMIT` records; a type filter that names
    known event types is applied by the database.
    """
    names = _type_names(tail_filter.type_name)
    records = log.read_reverse(before=before, limit=REFILL_SCAN_LIMIT, type_names=names)
    picked = _pick(records, tail_filter, keep)
    picked.reverse()
    return picked


def _pick(records: Iterable[Any], f: TailFilter, keep: int) -> list[TailRow]:
    """Rows of ``records`` (newest first) that match ``f``, at most ``keep``."""
    out: list[TailRow] = []
    if keep <= 0:
        return out
    wanted_type = f.type_name.lower()
    for recorded in records:
        if wanted_type and wanted_type not in recorded.type_name.lower():
            continue
        if f.actor:
            actor = recorded.actor
            if not (actor == f.actor or actor.startswith(f.actor + ":")):
                continue
        row = tail_row(recorded)
        if f.site and row.site != f.site:
            continue
        out.append(row)
        if len(out) >= keep:
            break
    return out


def _type_names(text: str) -> list[str] | None:
    """Names of the known event classes containing ``text`` (None: no SQL filter)."""
    if not text:
        return None
    wanted = text.lower()
    names = sorted({cls.__name__ for cls in _event_classes() if wanted in cls.__name__.lower()})
    return names or None


def _event_classes() -> list[type]:
    import control_center.events  # noqa: F401 - registers the core event classes

    out, stack = [], list(LogEvent.__subclasses__())
    while stack:
        cls = stack.pop()
        out.append(cls)
        stack.extend(cls.__subclasses__())
    return out


def tail_row(recorded: Any) -> TailRow:
    """One row of the tail for a recorded event (unknown and undecodable ones included)."""
    try:
        event = recorded.event
    except LogError as exc:   # e.g. written by a newer version of its class
        return TailRow(recorded.position, recorded.sim_time, recorded.type_name, recorded.actor,
                       _site_of_actor(recorded.actor), f"cannot decode: {exc.reason}", False)
    known = isinstance(event, LogEvent)
    payload = event.payload() if hasattr(event, "payload") else {}
    site = payload.get("site") if isinstance(payload.get("site"), str) else ""
    observation_id = payload.get("observation_id")
    return TailRow(recorded.position, recorded.sim_time, recorded.type_name, recorded.actor,
                   site or _site_of_actor(recorded.actor), summarize(event, payload), known,
                   observation_id if isinstance(observation_id, str) else "")


def _site_of_actor(actor: str) -> str:
    return actor.split(":", 1)[1] if actor.startswith("site:") else ""


def summarize(event: Any, payload: dict | None = None) -> str:
    """A short, legible description of an event (generic for types without a rule)."""
    rule = _RULES.get(type(event).__name__) if isinstance(event, LogEvent) else None
    if rule is not None:
        try:
            return rule(event)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            pass
    payload = payload if payload is not None else (
        event.payload() if hasattr(event, "payload") else {})
    return payload_summary(payload, max_chars=60)


def _why(reason: str) -> str:
    return f": {reason}" if reason else ""


def _n(table: dict) -> int:
    return len(next(iter(table.values()), ())) if table else 0


def _conditions(e: Any) -> str:
    state = "open" if e.open else f"closed ({e.reason})"
    return (f"{state}, seeing {e.seeing_arcsec:.2f}\", sky {e.sky_v_mag_arcsec2:.2f}, "
            f"cloud {e.cloud_cover:.2f}")


def _alert(e: Any) -> str:
    text = f"{e.kind} {e.alert_id} priority {e.priority:g}"
    if e.revision > 1:
        text += f" (revision {e.revision})"
    return text if e.observable else f"{text}, not observable: {e.note}"


_RULES: dict[str, Any] = {
    "NightStarted": lambda e: f"{e.network_name}: {e.start:%H:%M}-{e.end:%H:%M} UTC, "
                              f"seed {e.seed}, policy {e.policy}",
    "NightEnded": lambda e: e.reason,
    "SiteConditionsChanged": _conditions,
    "SiteHealthChanged": lambda e: f"link {e.previous} -> {e.state}: {e.reason}",
    "DecisionTriggered": lambda e: f"{e.telescope}: {e.trigger}",
    "CandidatesProposed": lambda e: f"{_n(e.candidates)} candidates",
    "CandidatesRejected": lambda e: f"{_n(e.rejections)} rejections",
    "CandidatesScored": lambda e: f"{_n(e.scores)} scored by {e.scorer}",
    "AssignmentChosen": lambda e: f"{e.candidate.get('target')} {e.candidate.get('filter')}: "
                                  f"{e.reason}",
    "NoAssignment": lambda e: e.reason,
    "ObservationRequested": lambda e: f"{e.request_id} {e.target} ({e.program}, priority "
                                      f"{e.priority:g})",
    "ObservationAssigned": lambda e: f"{e.target} {e.filter} on {e.telescope} until "
                                     f"{e.expected_end:%H:%M:%S}",
    "ObservationCompleted": lambda e: f"{e.telescope}: {e.request_id} {e.filter}, SNR "
                                      f"{e.snr:.0f}, seeing {e.seeing_arcsec:.2f}\"",
    "ObservationFailed": lambda e: f"{e.telescope}: {e.request_id} {e.filter}: {e.reason}",
    "ObservationCommandSent": lambda e: f"{e.telescope}: queue position {e.queue_position}"
                                        + (" (duplicate)" if e.duplicate else ""),
    "TransientDetected": lambda e: f"{e.telescope}: mag {e.mag:.2f} at {e.ra_deg:.4f} "
                                   f"{e.dec_deg:+.4f} (SNR {e.snr:.0f}, {e.detector})",
    "FrameAnalyzed": lambda e: (f"{e.telescope}: error {e.error}" if e.error else
                                f"{e.telescope}: {e.measures.get('verdict', '?')}, "
                                f"{e.measures.get('n_sources', '?')} sources"),
    "AlertReceived": _alert,
    "AlertRejected": lambda e: f"{e.source}: {e.reason}",
    "AlertRetracted": lambda e: f"{e.alert_id} retracts {', '.join(map(str, e.retracts))}",
    "PluginFailed": lambda e: f"{e.plugin}.{e.hook} {e.failure}: {e.message}",
    "TelescopePaused": lambda e: f"{e.observer} paused {e.telescope or 'site ' + e.site}"
                                 + _why(e.reason),
    "TelescopeResumed": lambda e: f"{e.observer} resumed {e.telescope or 'site ' + e.site}"
                                  + _why(e.reason),
    "AssignmentVetoed": lambda e: f"{e.observer} vetoed {e.request_id} on "
                                  f"{e.telescope or 'every telescope'}" + _why(e.reason),
    "TargetForced": lambda e: f"{e.observer} forced {e.request_id} onto {e.telescope}"
                              + _why(e.reason),
    "PriorityChanged": lambda e: f"{e.observer} set {e.request_id} priority {e.previous:g} -> "
                                 f"{e.priority:g}" + _why(e.reason),
    "ObservationRated": lambda e: f"{e.observer} rated {e.observation_id[:8]} {e.rating}"
                                  + _why(e.note),
    "AlertAcknowledged": lambda e: f"{e.observer} acknowledged {e.alert_id}" + _why(e.note),
}
