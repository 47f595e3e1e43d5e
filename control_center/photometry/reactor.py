"""The photometry chain during a night: frame measurements in, calibration and alerts out.

:class:`PhotometryReactor` is fed every event of the log in order
(:meth:`PhotometryReactor.react`) and answers with the events the control
center should record in consequence (:class:`Reaction`):

- on a ``FramePhotometryMeasured`` it refits the calibration of the frame's
  site and telescope for its band and night when the number of usable frames reaches 2, 4, 8, 16,
  ... (``SiteCalibrationFitted``; at ``NightEnded`` every group with new frames
  is refitted), checks the site for drift (``CalibrationDriftDetected``: within
  the night, and against its previous night), then looks at the frame's target's
  fused light curve for variability and new transients (``LightCurveAlert``);
- each kind of alert is raised once per target, band and kind (again only when
  its amplitude doubles); each drift once per site, band, night and kind.

It keeps a :class:`~control_center.projections.lightcurves.LightCurves` of
its own, so it answers the same from a replayed log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from control_center.eventlog.envelope import LogEvent, stream_id
from control_center.events.night import NightEnded
from control_center.events.photometry import (
    CalibrationDriftDetected,
    FramePhotometryMeasured,
    LightCurveAlert,
    SiteCalibrationFitted,
)
from control_center.photometry.calibrate import (
    fit_calibration,
    frames_with_stars,
    matches_table,
    usable_stars,
)
from control_center.photometry.detect import find_new_transient, find_variability
from control_center.photometry.drift import night_drift
from control_center.projections.lightcurves import (
    FrameRecord,
    LightCurves,
    instrument,
    night_key,
)

__all__ = ["DriftPolicy", "PhotometryReactor", "Reaction"]

ACTOR = "control-center:photometry"


@dataclass(frozen=True)
class Reaction:
    """An event to record: its class, stream, fields and the event that caused it."""

    event_class: type[LogEvent]
    stream: Any
    fields: dict
    cause: LogEvent | None = None
    actor: str = ACTOR


@dataclass(frozen=True)
class DriftPolicy:
    """When a drift is worth a calibration observation."""

    min_drift_mag: float = 0.02
    min_significance: float = 5.0
    between_nights_sigma: float = 5.0
    between_nights_mag: float = 0.03


@dataclass
class _Group:
    frames: list[FrameRecord] = field(default_factory=list)
    usable: int = 0
    fitted_at: int = 0
    site: str = ""
    telescope: str = ""


class PhotometryReactor:
    """Turns frame photometry into calibration, drift and light-curve events.

    Parameters
    ----------
    drift : DriftPolicy, optional
    detect : bool
        Look for variability and new transients after each frame.
    """

    def __init__(self, drift: DriftPolicy | None = None, *, detect: bool = True) -> None:
        self.drift = drift or DriftPolicy()
        self.detect = detect
        self.curves = LightCurves()
        self.groups: dict[tuple[str, str, str], _Group] = {}
        self._latest: dict[tuple[str, str], tuple[str, Any]] = {}
        self._previous: dict[tuple[str, str], Any] = {}
        self._drifts: dict[tuple[str, str, str, str], float] = {}
        self._alerts: dict[tuple[str, str, str], float] = {}

    def react(self, event: LogEvent) -> list[Reaction]:
        """The events to record because of ``event`` (none for most events)."""
        if isinstance(event, FramePhotometryMeasured):
            return self._frame(event)
        if isinstance(event, SiteCalibrationFitted):
            # recorded by us (already applied) or by another writer: keep the latest
            self.curves.apply_event(event)
            return []
        if isinstance(event, NightEnded):
            out = []
            for key, group in self.groups.items():
                if group.usable > group.fitted_at and key[2] == night_key(event):
                    out += self._fit(key, group, event)
            return out
        return []

    # -- frames ----------------------------------------------------------------------------

    def _frame(self, event: FramePhotometryMeasured) -> list[Reaction]:
        record = FrameRecord.from_event(event)
        self.curves.add_frame(record)
        key = (instrument(record.site, record.telescope), record.filter, record.night)
        group = self.groups.setdefault(key, _Group(site=record.site,
                                                   telescope=record.telescope))
        group.frames.append(record)
        out: list[Reaction] = []
        if record.status == "ok" and usable_stars(record.stars).sum() >= 3:
            group.usable += 1
            if group.usable >= 2 and group.usable & (group.usable - 1) == 0:
                out += self._fit(key, group, event)
        if self.detect:
            out += self._look(record, event)
        return out

    def _fit(self, key: tuple[str, str, str], group: _Group, cause: LogEvent) -> list[Reaction]:
        camera, band, night = key
        site = group.site
        group.fitted_at = group.usable
        cal = fit_calibration(matches_table(group.frames), site=site, band=band)
        data = cal.to_dict()
        if cal.converged:
            data["chi2_per_star"] = _chi2_per_star(cal, group.frames)
        self.curves.set_calibration(camera, band, night, data, bool(cal.converged),
                                    str(cal.reason or ""))
        out = [Reaction(SiteCalibrationFitted, stream_id("calibration", f"{camera}/{band}"), {
            "site": site, "telescope": group.telescope, "band": band, "night": night,
            "n_frames": group.usable,
            "n_stars": int(cal.n_stars), "converged": bool(cal.converged),
            "reason": str(cal.reason or ""), "calibration": data}, cause)]
        if cal.converged:
            out += self._drift_checks(key, group, cal, cause)
        return out

    def _drift_checks(self, key: tuple[str, str, str], group: _Group, cal: Any,
                      cause: LogEvent) -> list[Reaction]:
        camera, band, night = key
        out = []
        found = night_drift(cal, group.frames)
        p = self.drift
        if found is not None and abs(found.drift_mag) >= p.min_drift_mag \
                and found.significance >= p.min_significance:
            reason = (f"zero point moved {found.drift_mag:+.3f} mag over "
                      f"{found.span_days * 24:.1f} h of {found.n_frames} frames "
                      f"({found.significance:.1f} sigma)")
            out += self._drift_event(key, group, "within-night", found.drift_mag,
                                     found.significance, reason, cause)
        latest = self._latest.get((camera, band))
        if latest is not None and latest[0] != night:
            self._previous[(camera, band)] = latest[1]     # the last fit of an earlier night
        self._latest[(camera, band)] = (night, cal)
        other = self._previous.get((camera, band))
        if other is not None:
            sig = float(cal.drift_sigma(other))
            diff = float(cal.zero_point) - float(other.zero_point)
            if sig >= p.between_nights_sigma and abs(diff) >= p.between_nights_mag:
                out += self._drift_event(key, group, "between-nights", diff, sig,
                                         f"zero point {diff:+.3f} mag from the previous night "
                                         f"({sig:.1f} sigma)", cause)
        return out

    def _drift_event(self, key: tuple[str, str, str], group: _Group, kind: str, drift: float,
                     significance: float, reason: str, cause: LogEvent) -> list[Reaction]:
        camera, band, night = key
        seen = self._drifts.get((camera, band, night, kind))
        if seen is not None and abs(drift) < 2.0 * abs(seen):
            return []
        self._drifts[(camera, band, night, kind)] = drift
        return [Reaction(CalibrationDriftDetected, stream_id("calibration", f"{camera}/{band}"), {
            "site": group.site, "telescope": group.telescope, "band": band, "night": night,
            "kind": kind, "drift_mag": round(drift, 5),
            "significance": round(min(significance, 1e6), 2), "reason": reason}, cause)]

    # -- light curves ----------------------------------------------------------------------

    def _look(self, record: FrameRecord, cause: LogEvent) -> list[Reaction]:
        target = record.target
        points = self.curves.points(target, record.filter)
        if not any(p.mag is not None for p in points):
            return []
        fused = self.curves.fused(target, band=record.filter)
        findings = find_variability(fused) + find_new_transient(points, fused)
        where = self.curves.target_position(target) or (float("nan"), float("nan"))
        out = []
        for f in findings:
            k = (target, f.band, f.kind)
            seen = self._alerts.get(k)
            if seen is not None and f.amplitude_mag < 2.0 * seen:
                continue
            self._alerts[k] = f.amplitude_mag
            out.append(Reaction(LightCurveAlert, stream_id("lightcurve", target), {
                "target": target, "band": f.band, "kind": f.kind, "ra_deg": where[0],
                "dec_deg": where[1], "time_mjd": f.time_mjd, "amplitude_mag": f.amplitude_mag,
                "significance": f.significance, "statistic": f.statistic,
                "n_points": f.n_points, "sites": list(f.sites), "reason": f.reason}, cause))
        return out


def _chi2_per_star(cal: Any, frames: list[FrameRecord]) -> float:
    """Mean squared normalised residual of the stars about their frame's offset.

    ``z = (catalogue - calibrated) / reported error``: the site statistic of the
    learned fusion (``0.5 log`` of it). It measures the stars' errors against the
    catalogue, static ones included (unresolved neighbours), not the repeatability
    of a target, so it does not rescale the targets' errors.
    """
    import numpy as np

    zs = []
    for _, f, use in frames_with_stars(frames, min_stars=3):
        s = f.stars
        inst = np.asarray(s["instrumental_mag"], float)[use]
        err = np.asarray(s["instrumental_err"], float)[use]
        mag, _ = cal.apply(inst, np.zeros_like(inst),
                           np.asarray(s["catalogue_colour"], float)[use],
                           np.full(inst.size, f.airmass), np.asarray(s["x"], float)[use],
                           np.asarray(s["y"], float)[use], np.full(inst.size, f.time_mjd))
        r = np.asarray(s["catalogue_mag"], float)[use] - mag
        z = (r - np.median(r)) / err
        keep = np.abs(z) < 10
        zs.append(z[keep])
    z = np.concatenate(zs) if zs else np.zeros(0)
    return round(float(np.mean(z**2)), 4) if z.size else 1.0


def record_reactions(log: Any, reactor: PhotometryReactor, events: list[LogEvent], *,
                     sim_time: Any, correlation_id: Any = None) -> list[LogEvent]:
    """Feed ``events`` to ``reactor`` and record what it answers, until it answers nothing.

    For tools that replay or evaluate the chain outside a night (a night records
    the reactions itself, through its own loop). Returns the events recorded.
    """
    recorded: list[LogEvent] = []
    todo = list(events)
    while todo:
        reactions = [r for e in todo for r in reactor.react(e)]
        todo = []
        for r in reactions:
            with log.batch(actor=r.actor, sim_time=sim_time,
                           correlation_id=correlation_id) as batch:
                todo.append(batch.add(r.event_class, stream=r.stream, causation=r.cause,
                                      **r.fields))
        recorded += todo
    return recorded
