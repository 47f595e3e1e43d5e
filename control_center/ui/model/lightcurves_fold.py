"""The Light curves view's fold: each target's photometry, site calibrations and alerts.

Folding stays cheap: a ``FramePhotometryMeasured`` is kept compactly (only
its usable calibration stars, as float32 columns) and counted, a
``SiteCalibrationFitted`` replaces its camera's calibration of the band and
night. Nothing is calibrated nor fused per event: :meth:`LightCurvesFold.section`
calibrates only the newest measured frame of each target that changed (its
"last magnitude": that frame with its calibration and its own stars, without
the night's pooled star flat the curve adds, a few mmag), and the fused curve
is computed lazily for the one target the view shows (:func:`target_curve`,
off the fold's thread), with the same code as ``openastro lightcurve``
(:class:`~control_center.projections.lightcurves.LightCurves`).

Memory is bounded: at most :data:`MAX_TARGETS` targets (the one updated
longest ago goes first), :data:`MAX_FRAMES_PER_TARGET` frames each (the oldest
go first), :data:`MAX_FRAMES` in all, :data:`MAX_CALIBRATIONS` calibrations. Kept frames are never
modified, so the replay's cached folds (deep copies) share them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from control_center.events.photometry import (
    CalibrationDriftDetected,
    FramePhotometryMeasured,
    LightCurveAlert,
    SiteCalibrationFitted,
)
from control_center.projections.lightcurves import FrameRecord, LightCurves, instrument

__all__ = ["MAX_CALIBRATIONS", "MAX_FRAMES", "MAX_FRAMES_PER_TARGET", "MAX_TARGETS", "CurveSummary",
           "LightCurveRow", "LightCurvesFold", "LightCurvesSection", "TargetCurve",
           "target_curve"]

MAX_TARGETS = 100
"""Targets kept (the one whose last frame is oldest is dropped beyond)."""
MAX_FRAMES_PER_TARGET = 300
"""Frames kept per target (the oldest are dropped beyond)."""
MAX_FRAMES = 5000
"""Frames kept in all (beyond, the target with most frames loses its oldest tenth): a
kept frame of 40 stars takes about 5 KiB, of 300 stars about 12 KiB."""
MAX_CALIBRATIONS = 500
"""Calibrations kept (camera, band, night; the oldest fitted are dropped beyond)."""
MAX_ALERT_LINES = 10
"""Light-curve alerts kept per target (newest last)."""

_STAR_COLUMNS = ("x", "y", "instrumental_mag", "instrumental_err", "catalogue_mag",
                 "catalogue_colour")


class KeptFrame(FrameRecord):
    """A frame as the fold keeps it: usable stars only, float32; never modified, so a
    deep copy (the replay's cached folds) shares it instead of copying it."""

    def __deepcopy__(self, memo: dict) -> KeptFrame:
        return self

    @classmethod
    def compact(cls, event: FramePhotometryMeasured) -> KeptFrame:
        from control_center.photometry.calibrate import usable_stars

        record = cls.from_event(event)
        stars = record.stars
        try:
            use = usable_stars(stars)
            record.stars = {k: np.asarray(stars[k], np.float32)[use] for k in _STAR_COLUMNS}
            record.stars["flag"] = np.zeros(int(use.sum()), np.int8)
        except (KeyError, ValueError, TypeError, IndexError):
            # malformed star table: the frame offset then falls back (as the CLI's would)
            record.stars = {}
        return record

    @property
    def measured(self) -> bool:
        """The target has an instrumental magnitude (calibrated when its calibration is)."""
        m = self.measurement
        return self.status == "ok" and m.get("status") == "ok" \
            and m.get("instrumental_mag") is not None


def _empty() -> Mapping:
    return MappingProxyType({})


@dataclass(frozen=True)
class LightCurveRow:
    """One target of the Light curves table."""

    target: str
    frames: int
    calibrated: int
    """Frames with a calibrated magnitude (measured, with a converged calibration)."""
    bands: tuple[str, ...]
    sites: tuple[str, ...]
    last_mag: float | None
    last_err: float | None
    last_band: str
    last_site: str
    alerts: int
    """Light-curve alerts raised for this target."""
    last_alert: str = ""


@dataclass(frozen=True)
class LightCurvesSection:
    """What the Light curves view needs from one snapshot (immutable)."""

    rows: tuple[LightCurveRow, ...] = ()
    frames: Mapping[str, tuple[FrameRecord, ...]] = field(default_factory=_empty)
    """Target -> its kept frames (oldest first)."""
    calibrations: Mapping[tuple[str, str, str], dict] = field(default_factory=_empty)
    """(camera, band, night) -> the recorded calibration (see ``LightCurves``)."""
    alerts: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    """Target -> its light-curve alerts, one line each."""
    drifts: Mapping[str, str] = field(default_factory=_empty)
    """Site -> its latest calibration drift, one line."""
    dropped_frames: int = 0
    """Frames no longer kept (over the caps)."""


@dataclass
class _Target:
    frames: list[KeptFrame]
    last_seen: int = 0
    version: int = 0
    dropped: int = 0


class LightCurvesFold:
    """Targets with photometry, calibrations and light-curve alerts (see the module)."""

    handles = (FramePhotometryMeasured, SiteCalibrationFitted, LightCurveAlert,
               CalibrationDriftDetected)

    def __init__(self) -> None:
        self.version = 0
        self._curves = LightCurves()
        self._targets: dict[str, _Target] = {}
        self._alerts: dict[str, list[str]] = {}
        self._alert_counts: dict[str, int] = {}
        self._drifts: dict[str, str] = {}
        self._cal_version = 0
        self._cal_objects: dict[tuple[str, str, str], tuple[dict, Any]] = {}
        self._dropped = 0
        self._kept = 0
        self._rows: dict[str, tuple[Any, LightCurveRow]] = {}
        self._frozen: dict[str, tuple[int, tuple[KeptFrame, ...]]] = {}
        self._calibrations: tuple[int, Mapping] = (-1, MappingProxyType({}))
        self._section: LightCurvesSection | None = None

    def __getstate__(self) -> dict:
        """What a copy keeps (the replay's cached folds): not the caches of the views' data."""
        state = dict(self.__dict__)
        state.update(_section=None, _calibrations=(-1, None), _cal_objects={})
        return state

    # -- folding -------------------------------------------------------------------------

    def apply(self, event: Any, position: int) -> None:
        if isinstance(event, FramePhotometryMeasured):
            self._frame(KeptFrame.compact(event), position)
        elif isinstance(event, SiteCalibrationFitted):
            self._curves.apply_event(event)
            cals = self._curves.calibrations
            while len(cals) > MAX_CALIBRATIONS:
                del cals[next(iter(cals))]
            self._cal_version += 1
            self._cal_objects = {k: v for k, v in self._cal_objects.items() if k in cals}
        elif isinstance(event, CalibrationDriftDetected):
            self._drifts.pop(event.site, None)
            self._drifts[event.site] = (
                f"{event.sim_time:%H:%M} {event.kind} drift {event.drift_mag:+.3f} mag in "
                f"{event.band} ({event.telescope}, {event.significance:.1f} sigma)")
            while len(self._drifts) > MAX_TARGETS:
                del self._drifts[next(iter(self._drifts))]
        else:
            self._alert(event)
        self.version += 1
        self._section = None

    def _frame(self, frame: KeptFrame, position: int) -> None:
        target = self._targets.get(frame.target)
        if target is None:
            if len(self._targets) >= MAX_TARGETS:
                oldest = min(self._targets, key=lambda t: self._targets[t].last_seen)
                gone = len(self._targets.pop(oldest).frames)
                self._dropped += gone
                self._kept -= gone
                self._frozen.pop(oldest, None)
                self._rows.pop(oldest, None)
                self._alerts.pop(oldest, None)
                self._alert_counts.pop(oldest, None)
            target = self._targets[frame.target] = _Target([])
        target.frames.append(frame)
        self._kept += 1
        if len(target.frames) > MAX_FRAMES_PER_TARGET:
            self._drop(target, len(target.frames) - MAX_FRAMES_PER_TARGET)
        while self._kept > MAX_FRAMES:
            biggest = max(self._targets.values(), key=lambda t: len(t.frames))
            self._drop(biggest, max(1, len(biggest.frames) // 10))
        target.last_seen = position
        target.version += 1

    def _drop(self, target: _Target, n: int) -> None:
        """Forget the ``n`` oldest frames of ``target``."""
        del target.frames[:n]
        target.dropped += n
        target.version += 1
        self._dropped += n
        self._kept -= n

    def _alert(self, e: LightCurveAlert) -> None:
        if e.target not in self._alerts and len(self._alerts) >= MAX_TARGETS:
            oldest = next(iter(self._alerts))
            del self._alerts[oldest]
            self._alert_counts.pop(oldest, None)
        lines = self._alerts.setdefault(e.target, [])
        lines.append(f"{e.sim_time:%H:%M} {e.kind} in {e.band}: {e.reason}")
        del lines[:-MAX_ALERT_LINES]
        self._alert_counts[e.target] = self._alert_counts.get(e.target, 0) + 1

    # -- reading -------------------------------------------------------------------------

    def _converged(self, frame: FrameRecord) -> bool:
        cal = self._curves.calibrations.get(
            (instrument(frame.site, frame.telescope), frame.filter, frame.night))
        return cal is not None and bool(cal.get("converged"))

    def _row(self, name: str, target: _Target) -> LightCurveRow:
        key = (target.version, self._cal_version, self._alert_counts.get(name, 0))
        cached = self._rows.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        frames = target.frames
        calibrated = [f for f in frames if f.measured and self._converged(f)]
        last = None
        if calibrated:
            f = calibrated[-1]
            last = self._calibrate(f)
        alerts = self._alerts.get(name, ())
        row = LightCurveRow(
            target=name, frames=len(frames), calibrated=len(calibrated),
            bands=tuple(sorted({f.filter for f in frames})),
            sites=tuple(sorted({f.site for f in frames})),
            last_mag=last.mag if last is not None else None,
            last_err=last.err if last is not None else None,
            last_band=last.band if last is not None else "",
            last_site=last.site if last is not None else "",
            alerts=self._alert_counts.get(name, 0),
            last_alert=alerts[-1] if alerts else "")
        self._rows[name] = (key, row)
        return row

    def _calibrate(self, frame: FrameRecord) -> Any:
        from control_center.photometry.calibrate import calibrate_target, calibration_from_dict

        key = (instrument(frame.site, frame.telescope), frame.filter, frame.night)
        data = self._curves.calibrations.get(key)
        try:
            cached = self._cal_objects.get(key)
            if cached is None or cached[0] is not data:
                cached = self._cal_objects[key] = (data, calibration_from_dict(data))
            point = calibrate_target(cached[1], frame)
        except Exception:  # noqa: BLE001 - an odd calibration must not stop the table
            return None
        return point if point.mag is not None else None

    def _frames_of(self, name: str, target: _Target) -> tuple[KeptFrame, ...]:
        cached = self._frozen.get(name)
        if cached is None or cached[0] != target.version:
            cached = self._frozen[name] = (target.version, tuple(target.frames))
        return cached[1]

    def section(self) -> LightCurvesSection:
        """The view's section (rebuilt only for what changed since the last call)."""
        if self._section is not None:
            return self._section
        if self._calibrations[0] != self._cal_version:
            self._calibrations = (self._cal_version,
                                  MappingProxyType(dict(self._curves.calibrations)))
        by_name = sorted(self._targets.items(), key=lambda kv: kv[0])
        self._section = LightCurvesSection(
            rows=tuple(self._row(name, t) for name, t in by_name),
            frames=MappingProxyType({name: self._frames_of(name, t) for name, t in by_name}),
            calibrations=self._calibrations[1],
            alerts=MappingProxyType({t: tuple(v) for t, v in self._alerts.items()}),
            drifts=MappingProxyType(dict(self._drifts)),
            dropped_frames=self._dropped)
        return self._section


# -- the selected target's curve (computed lazily, off the fold's thread) ---------------------

@dataclass(frozen=True)
class CurveSummary:
    """One line about a target's curve: sites, points, flags, fused scatter per band."""

    sites: tuple[str, ...]
    frames: int
    calibrated: int
    flagged: tuple[tuple[str, int], ...]
    """Why frames have no magnitude (or a caveat), with counts, most frequent first."""
    scatter: tuple[tuple[str, int, float, float], ...]
    """Per band: fused points, weighted mean magnitude, RMS scatter about it (mag)."""

    def text(self) -> str:
        parts = [f"sites {', '.join(self.sites) or '-'}",
                 f"{self.calibrated}/{self.frames} frames calibrated"]
        if self.flagged:
            parts.append("flagged: " + "; ".join(f"{n} {why}" for why, n in self.flagged))
        for band, n, mean, rms in self.scatter:
            parts.append(f"{band}: {n} fused, mean {mean:.3f}, scatter {rms:.3f} mag")
        return " · ".join(parts)


@dataclass(frozen=True)
class TargetCurve:
    """A target's calibrated points (flagged ones too) and fused curve, and its summary."""

    target: str
    points: tuple[Any, ...]
    """:class:`~control_center.photometry.calibrate.CalibratedPoint`, time order."""
    fused: tuple[Any, ...]
    """:class:`~control_center.photometry.fuse.FusedPoint`, time order."""
    summary: CurveSummary


def target_curve(section: LightCurvesSection, target: str, *,
                 method: str = "gls") -> TargetCurve:
    """Calibrate and fuse one target's kept frames, as ``openastro lightcurve`` does.

    The projection is fed every kept frame (of every target): a frame's
    calibration may use the other frames of its camera and night (their stars).

    Parameters
    ----------
    section : LightCurvesSection
        A snapshot's section (immutable: safe to read from any thread).
    target : str
        A target of ``section.frames``.
    method : {"gls", "learned"}
        Fusion across sites.
    """
    curves = LightCurves()
    for frames in section.frames.values():     # every kept frame: a camera's night of
        for frame in frames:                   # stars calibrates each of its targets
            curves.add_frame(frame)
    curves.calibrations = dict(section.calibrations)
    points = curves.points(target)
    fused = curves.fused(target, method=method)
    flags: dict[str, int] = {}
    for p in points:
        if p.mag is None or p.flag != "ok":
            flags[p.flag] = flags.get(p.flag, 0) + 1
    scatter = []
    for band in sorted({f.band for f in fused}):
        mags = np.array([f.mag for f in fused if f.band == band])
        w = 1.0 / np.array([f.err for f in fused if f.band == band]) ** 2
        mean = float(np.sum(w * mags) / np.sum(w))
        rms = float(np.sqrt(np.mean((mags - mean) ** 2)))
        scatter.append((band, int(mags.size), round(mean, 4),
                        round(rms, 4) if math.isfinite(rms) else float("nan")))
    summary = CurveSummary(
        sites=tuple(sorted({p.site for p in points})), frames=len(points),
        calibrated=sum(p.mag is not None for p in points),
        flagged=tuple(sorted(flags.items(), key=lambda kv: (-kv[1], kv[0]))),
        scatter=tuple(scatter))
    return TargetCurve(target, tuple(points), tuple(fused), summary)
