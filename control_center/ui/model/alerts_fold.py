"""The Alerts view's fold: notices received, rejected or retracted, and their follow-ups.

A follow-up is any request or observation whose ``request_id`` starts with
``alert:<short_id>`` (how the alert responder names its candidates).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from control_center.events import (
    AlertReceived,
    AlertRejected,
    AlertRetracted,
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    ObservationRequested,
)
from control_center.events.override import AlertAcknowledged
from control_center.ui.model.views import AlertRow

__all__ = ["AlertsFold"]

MAX_ALERTS = 500
"""Alerts kept (the oldest are dropped beyond)."""
MAX_FOLLOWUP_LINES = 30


@dataclass
class _Alert:
    row: AlertRow
    lines: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {
        "requested": 0, "assigned": 0, "completed": 0, "failed": 0})


class AlertsFold:
    """Alerts in arrival order, each with the follow-ups it caused."""

    handles = (AlertReceived, AlertRejected, AlertRetracted, ObservationRequested,
               ObservationAssigned, ObservationCompleted, ObservationFailed, AlertAcknowledged)

    def __init__(self) -> None:
        self.version = 0
        self._alerts: dict[str, _Alert] = {}
        self._by_short_id: dict[str, str] = {}
        self._rows: tuple[AlertRow, ...] | None = None

    def apply(self, event: Any, position: int) -> None:
        if isinstance(event, AlertReceived):
            self._received(event, position)
        elif isinstance(event, AlertRejected):
            key = f"rejected:{event.digest or position}"
            self._put(key, AlertRow(key=key, position=position, sim_time=event.sim_time,
                                    status="rejected", alert_id=event.alert_id,
                                    source=event.source, note=event.reason))
        elif isinstance(event, AlertRetracted):
            self._retracted(event, position)
        elif isinstance(event, AlertAcknowledged):
            self.acknowledge(event.alert_id, event.observer)
        else:
            self._followup(event)

    def _received(self, e: AlertReceived, position: int) -> None:
        key = e.alert_id
        row = AlertRow(key=key, position=position, sim_time=e.sim_time, status="received",
                       alert_id=e.alert_id, short_id=e.short_id, kind=e.kind, broker=e.broker,
                       source=e.source, priority=float(e.priority), observable=bool(e.observable),
                       revision=int(e.revision), note=e.note)
        earlier = self._alerts.get(key)
        self._put(key, row, keep_from=earlier)
        self._by_short_id[e.short_id] = key
        for old in e.supersedes or ():
            other = self._alerts.get(str(old))
            if other is not None and other is not self._alerts[key]:
                other.row = replace(other.row, status="superseded",
                                    note=f"superseded by {e.alert_id}")

    def _retracted(self, e: AlertRetracted, position: int) -> None:
        hit = False
        for alert_id in e.retracts or ():
            alert = self._alerts.get(str(alert_id))
            if alert is not None:
                alert.row = replace(alert.row, status="retracted",
                                    note=f"retracted by {e.alert_id}")
                hit = True
        if not hit:
            key = f"retraction:{e.alert_id}"
            self._put(key, AlertRow(key=key, position=position, sim_time=e.sim_time,
                                    status="retracted", alert_id=e.alert_id, broker=e.broker,
                                    source=e.source,
                                    note="retracts " + ", ".join(map(str, e.retracts))))
        self._changed()

    def _followup(self, e: Any) -> None:
        request_id = getattr(e, "request_id", "")
        if not request_id.startswith("alert:"):
            return
        short_id = request_id.split(":", 2)[1]
        alert = self._alerts.get(self._by_short_id.get(short_id, ""))
        if alert is None:
            return
        if isinstance(e, ObservationRequested):
            alert.counts["requested"] += 1
            line = f"{e.sim_time:%H:%M} requested {request_id} {' '.join(e.filters)}"
        elif isinstance(e, ObservationAssigned):
            alert.counts["assigned"] += 1
            line = f"{e.sim_time:%H:%M} {e.telescope} observes {e.target} {e.filter}"
        elif isinstance(e, ObservationCompleted):
            alert.counts["completed"] += 1
            line = f"{e.sim_time:%H:%M} {e.telescope} completed {e.filter}, SNR {e.snr:.0f}"
        else:
            alert.counts["failed"] += 1
            line = f"{e.sim_time:%H:%M} {e.telescope} failed {e.filter}: {e.reason}"
        alert.lines.append(line)
        del alert.lines[:-MAX_FOLLOWUP_LINES]
        self._changed()

    def acknowledge(self, alert_id: str, observer: str) -> None:
        """An observer acknowledged an alert."""
        alert = self._alerts.get(alert_id)
        if alert is not None:
            alert.row = replace(alert.row, acknowledged_by=observer)
            self._changed()

    def _put(self, key: str, row: AlertRow, keep_from: _Alert | None = None) -> None:
        alert = _Alert(row)
        if keep_from is not None:   # a revision keeps the follow-ups and the acknowledgement
            alert.lines, alert.counts = keep_from.lines, keep_from.counts
            alert.row = replace(row, acknowledged_by=keep_from.row.acknowledged_by)
            del self._alerts[key]
        self._alerts[key] = alert
        while len(self._alerts) > MAX_ALERTS:
            del self._alerts[next(iter(self._alerts))]
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._rows = None

    def clear(self) -> None:
        self._alerts.clear()
        self._by_short_id.clear()
        self._changed()

    def rows(self) -> tuple[AlertRow, ...]:
        if self._rows is None:
            self._rows = tuple(replace(a.row, followups=tuple(a.lines), **a.counts)
                               for a in self._alerts.values())
        return self._rows
