"""The Alerts view's fold: notices received, rejected or retracted, anomalies found in
frames, and the follow-ups of each.

A follow-up of an alert is any request or observation whose ``request_id``
starts with ``alert:<short_id>`` (how the alert responder names its
candidates). An *anomaly* is an observation whose frame the edge pipeline
flagged (``FrameAnalyzed.measures["verdict"]`` in :data:`ANOMALOUS_VERDICTS`)
or in which transients were detected (``TransientDetected``): one row per
observation, keyed ``anomaly:<observation_id>`` (what an acknowledgement
names); its follow-ups are the observations whose request id starts with
``followup:<observation_id>:`` (how the follow-up planner names them).

The photometry chain's alerts are listed too: a site's calibration drift
(``CalibrationDriftDetected``, status ``drift``, one row per site, telescope,
band, night and kind) and a target's light curve varying or showing a new
source (``LightCurveAlert``, status ``light-curve``, one row per target, band
and kind; raised again, the row is revised). Their reason is the note.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from control_center.events import (
    AlertReceived,
    AlertRejected,
    AlertRetracted,
    FrameAnalyzed,
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    ObservationRequested,
    TransientDetected,
)
from control_center.events.override import AlertAcknowledged
from control_center.events.photometry import CalibrationDriftDetected, LightCurveAlert
from control_center.ui.model.views import AlertRow

__all__ = ["ANOMALOUS_VERDICTS", "PHOTOMETRY_STATUSES", "AlertsFold", "anomaly_key"]

ANOMALOUS_VERDICTS = frozenset({"anomalous", "suspect"})
"""Frame verdicts listed as anomalies (the anomaly model's, and the sky statistics')."""
MAX_DETECTION_LINES = 10
PHOTOMETRY_STATUSES = frozenset({"drift", "light-curve"})
"""Statuses of the photometry chain's alerts (calibration drift, light-curve alerts)."""
LIGHT_CURVE_KINDS = {"variability": "variable", "new-transient": "new src"}
"""``LightCurveAlert.kind`` as the table's Kind column shows it."""


def anomaly_key(observation_id: str) -> str:
    """The row (and acknowledgement) key of the anomalies of one observation."""
    return f"anomaly:{observation_id}"

MAX_ALERTS = 500
"""Alerts kept (the oldest are dropped beyond)."""
MAX_FOLLOWUP_LINES = 30


@dataclass
class _Alert:
    row: AlertRow
    lines: list[str] = field(default_factory=list)
    detections: list[str] = field(default_factory=list)
    n_detections: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {
        "requested": 0, "assigned": 0, "completed": 0, "failed": 0})


class AlertsFold:
    """Alerts in arrival order, each with the follow-ups it caused."""

    handles = (AlertReceived, AlertRejected, AlertRetracted, ObservationRequested,
               ObservationAssigned, ObservationCompleted, ObservationFailed, AlertAcknowledged,
               FrameAnalyzed, TransientDetected, CalibrationDriftDetected, LightCurveAlert)

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
        elif isinstance(event, FrameAnalyzed):
            self._frame(event, position)
        elif isinstance(event, TransientDetected):
            self._transient(event, position)
        elif isinstance(event, CalibrationDriftDetected):
            self._drift(event, position)
        elif isinstance(event, LightCurveAlert):
            self._light_curve(event, position)
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

    def _frame(self, e: FrameAnalyzed, position: int) -> None:
        measures = e.measures or {}
        verdict = measures.get("verdict")
        if e.error or verdict not in ANOMALOUS_VERDICTS:
            return
        score = measures.get("anomaly_score")
        alert = self._anomaly(e, position)
        alert.row = replace(alert.row, status="anomalous",
                            kind="anomaly" if alert.row.kind != "transient" else "anom+tr",
                            score=float(score) if isinstance(score, int | float) else None,
                            note=f"frame verdict {verdict}" + (
                                f", score {score:.3g}" if isinstance(score, int | float)
                                else "") + _detections(alert))
        self._changed()

    def _transient(self, e: TransientDetected, position: int) -> None:
        alert = self._anomaly(e, position)
        alert.n_detections += 1
        alert.detections.append(f"mag {e.mag:.2f} at {e.ra_deg:.4f} {e.dec_deg:+.4f} "
                                f"(SNR {e.snr:.0f}, {e.detector})")
        del alert.detections[:-MAX_DETECTION_LINES]
        row = alert.row
        kind = "anom+tr" if row.status == "anomalous" else "transient"
        note = row.note.split(";")[0] if row.status == "anomalous" else ""
        alert.row = replace(row, kind=kind, status=row.status or "transient",
                            note=(note + _detections(alert)).lstrip("; "))
        self._changed()

    def _drift(self, e: CalibrationDriftDetected, position: int) -> None:
        key = f"drift:{e.site}/{e.telescope}:{e.band}:{e.night}:{e.kind}"
        earlier = self._alerts.get(key)
        self._put(key, AlertRow(
            key=key, position=position, sim_time=e.sim_time, status="drift", kind="drift",
            source=f"{e.telescope} {e.band}", site=e.site, telescope=e.telescope,
            score=float(e.significance),
            revision=earlier.row.revision + 1 if earlier is not None else 1,
            note=f"{e.kind} drift of {e.drift_mag:+.3f} mag in {e.band} at {e.site} "
                 f"({e.telescope}), {e.significance:.1f} sigma: {e.reason}"), keep_from=earlier)

    def _light_curve(self, e: LightCurveAlert, position: int) -> None:
        key = f"lightcurve:{e.target}:{e.band}:{e.kind}"
        earlier = self._alerts.get(key)
        sites = "+".join(map(str, e.sites or ())) or "?"
        self._put(key, AlertRow(
            key=key, position=position, sim_time=e.sim_time, status="light-curve",
            kind=LIGHT_CURVE_KINDS.get(e.kind, e.kind), source=f"{e.target} {e.band}",
            site=sites, score=float(e.significance),
            revision=earlier.row.revision + 1 if earlier is not None else 1,
            note=f"{e.kind} of {e.target} in {e.band}: amplitude {e.amplitude_mag:.3f} mag, "
                 f"{e.significance:.1f} sigma, {e.n_points} points from {sites} at "
                 f"RA {e.ra_deg:.4f} Dec {e.dec_deg:+.4f}: {e.reason}"), keep_from=earlier)

    def _anomaly(self, e: Any, position: int) -> _Alert:
        key = anomaly_key(e.observation_id)
        alert = self._alerts.get(key)
        if alert is None:
            self._put(key, AlertRow(key=key, position=position, sim_time=e.sim_time,
                                    status="", alert_id=key, short_id=e.observation_id[:8],
                                    site=e.site, telescope=e.telescope,
                                    observation_id=e.observation_id))
            alert = self._alerts[key]
        return alert

    def _followup(self, e: Any) -> None:
        request_id = getattr(e, "request_id", "")
        if request_id.startswith("followup:"):
            alert = self._alerts.get(anomaly_key(request_id.split(":", 2)[1]))
        elif request_id.startswith("alert:"):
            short_id = request_id.split(":", 2)[1]
            alert = self._alerts.get(self._by_short_id.get(short_id, ""))
        else:
            return
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


def _detections(alert: _Alert) -> str:
    n = alert.n_detections
    if not n:
        return ""
    return f"; {n} transient{'s' if n > 1 else ''}: " + "; ".join(alert.detections[-3:])
