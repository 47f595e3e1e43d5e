"""Light curves folded from the log: calibrated per site, fused across sites.

:class:`LightCurves` keeps every ``FramePhotometryMeasured`` (compactly) and the
latest ``SiteCalibrationFitted`` of each site, band and night. From them:

- :meth:`LightCurves.points`: the target's calibrated points, one per frame; a
  frame that cannot be calibrated (no WCS, no stars, target outside the frame or
  not detected, calibration not converged) is a point without magnitude whose
  ``flag`` says why, never silently dropped nor used;
- :meth:`LightCurves.fused`: the points fused across sites per time bin
  (inverse-variance GLS or learned, :mod:`control_center.photometry.fuse`).

A frame is calibrated with its camera's (site and telescope) last calibration of
its band and night (night =
the correlation id of the event: the night's id), then corrected by its own
offset measured on its stars, and by what the stars of all that camera's frames
of the night say the calibration's flat misses at the target's position
(:class:`~control_center.photometry.calibrate.StarResiduals`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from control_center.events.photometry import FramePhotometryMeasured, SiteCalibrationFitted
from control_center.projections.base import Projection

__all__ = ["FrameRecord", "LightCurves", "instrument", "night_key"]


def instrument(site: str, telescope: str) -> str:
    """The key of a calibration: one camera of one site (``site/telescope``)."""
    return f"{site}/{telescope}"


def night_key(event: Any) -> str:
    """The night a photometry event belongs to: its correlation id, else its UTC date."""
    if getattr(event, "correlation_id", None) is not None:
        return str(event.correlation_id)
    return event.sim_time.date().isoformat()


@dataclass
class FrameRecord:
    """What the light curves keep of a ``FramePhotometryMeasured``."""

    observation_id: str
    request_id: str
    target: str
    site: str
    telescope: str
    filter: str
    night: str
    time_mjd: float | None
    airmass: float | None
    exptime: float | None
    fwhm_arcsec: float | None
    status: str
    measurement: dict
    stars: dict
    reasons: list = field(default_factory=list)
    source: str = "frame"

    @classmethod
    def from_event(cls, event: FramePhotometryMeasured) -> FrameRecord:
        return cls(event.observation_id, event.request_id, event.target, event.site,
                   event.telescope, event.filter, night_key(event), event.time_mjd,
                   event.airmass, event.exptime, event.fwhm_arcsec, event.status,
                   dict(event.measurement or {}), dict(event.stars or {}),
                   list(event.reasons or []), event.source)


class LightCurves(Projection):
    """Every target's calibrated and fused light curve (see the module docstring)."""

    name = "lightcurves"
    version = 1
    handles = (FramePhotometryMeasured, SiteCalibrationFitted)

    def __init__(self) -> None:
        self.frames: dict[str, list[FrameRecord]] = {}          # target -> frames
        self.calibrations: dict[tuple[str, str, str], dict] = {}  # (site, band, night)
        self._cal_cache: dict[tuple[str, str, str], Any] = {}
        self._by_camera: dict[tuple[str, str, str], list[FrameRecord]] = {}
        self._residuals: dict[tuple[str, str, str], tuple[Any, dict[int, Any], Any]] = {}

    # -- folding ---------------------------------------------------------------------------

    def apply_event(self, event: Any) -> None:
        if isinstance(event, FramePhotometryMeasured):
            self.add_frame(FrameRecord.from_event(event))
        elif isinstance(event, SiteCalibrationFitted):
            self.set_calibration(instrument(event.site, event.telescope), event.band,
                                 night_key(event),
                                 dict(event.calibration), event.converged, event.reason)

    def add_frame(self, record: FrameRecord) -> None:
        self.frames.setdefault(record.target, []).append(record)
        key = (instrument(record.site, record.telescope), record.filter, record.night)
        self._by_camera.setdefault(key, []).append(record)

    def set_calibration(self, camera: str, band: str, night: str, calibration: dict,
                        converged: bool, reason: str = "") -> None:
        """Record the calibration of ``camera`` (:func:`instrument`), band and night."""
        data = dict(calibration)
        data["converged"] = bool(converged) and bool(data.get("converged", True))
        if reason and not data.get("reason"):
            data["reason"] = reason
        key = (camera, band, night)
        self.calibrations[key] = data
        self._cal_cache.pop(key, None)

    def to_state(self) -> dict:
        return {"frames": {t: [asdict(f) for f in fs] for t, fs in self.frames.items()},
                "calibrations": [[*k, v] for k, v in self.calibrations.items()]}

    def load_state(self, state: dict) -> None:
        self.frames = {}
        self._by_camera, self._residuals = {}, {}
        for fs in state["frames"].values():
            for f in fs:
                self.add_frame(FrameRecord(**f))
        self.calibrations = {(s, b, n): v for s, b, n, v in state["calibrations"]}
        self._cal_cache = {}

    # -- reading ---------------------------------------------------------------------------

    def calibration(self, camera: str, band: str, night: str) -> Any:
        """The calibration of a camera (:func:`instrument`), band and night (None: none fitted)."""
        from control_center.photometry.calibrate import calibration_from_dict

        key = (camera, band, night)
        if key not in self.calibrations:
            return None
        if key not in self._cal_cache:
            self._cal_cache[key] = calibration_from_dict(self.calibrations[key])
        return self._cal_cache[key]

    def star_residuals(self, key: tuple[str, str, str], calibration: Any = None) -> Any:
        """The pooled star residuals (a star flat) of a camera, band and night, or None.

        Each frame's residuals are kept until the calibration changes; the pool is
        rebuilt when a frame of that camera, band and night arrives.
        """
        from control_center.photometry.calibrate import StarResiduals, frame_residuals

        cal = calibration if calibration is not None else self.calibration(*key)
        if cal is None or not getattr(cal, "converged", False):
            return None
        frames = self._by_camera.get(key, [])
        held, per_frame, pooled = self._residuals.get(key, (None, {}, None))
        if held is not cal:
            per_frame, pooled = {}, None
        if pooled is None or len(per_frame) != len(frames):
            for k in range(len(per_frame), len(frames)):
                per_frame[k] = frame_residuals(cal, frames[k])
            pooled = StarResiduals(per_frame.values())
            self._residuals[key] = (cal, per_frame, pooled)
        return pooled

    def targets(self) -> dict[str, int]:
        """Target names and their number of frames."""
        return {t: len(fs) for t, fs in sorted(self.frames.items())}

    def find_target(self, name: str) -> str | None:
        """The target called ``name`` (exact, else case-insensitive), or None."""
        if name in self.frames:
            return name
        lowered = {t.lower(): t for t in self.frames}
        return lowered.get(name.lower())

    def points(self, target: str, band: str | None = None) -> list:
        """Calibrated points of ``target`` (see :class:`~control_center.photometry.calibrate.
        CalibratedPoint`), in time order; flagged points have ``mag`` None."""
        from control_center.photometry.calibrate import calibrate_target

        out = []
        for f in self.frames.get(target, []):
            if band is not None and f.filter != band:
                continue
            key = (instrument(f.site, f.telescope), f.filter, f.night)
            cal = self.calibration(*key)
            out.append(calibrate_target(cal, f, self.star_residuals(key, cal)))
        out.sort(key=lambda p: (p.time_mjd if math.isfinite(p.time_mjd) else math.inf))
        return out

    def site_statistics(self) -> dict[str, float]:
        """Each site's ``0.5 log mean(z^2)`` over its calibrations (0: honest), for learned fusion.

        ``z`` is a calibration star's residual over its reported error, estimated
        from the calibration's residual RMS against the median reported error.
        """
        out: dict[str, list[float]] = {}
        for (camera, _, _), cal in self.calibrations.items():
            site = camera.split("/", 1)[0]
            ratio = cal.get("chi2_per_star")
            if ratio is not None and ratio > 0:
                out.setdefault(site, []).append(float(ratio))
        return {s: 0.5 * math.log(sum(v) / len(v)) for s, v in out.items()}

    def fused(self, target: str, *, method: str = "gls", band: str | None = None,
              bin_days: float | None = None) -> list:
        """The fused light curve of ``target`` (one point per band and time bin)."""
        from control_center.photometry.fuse import DEFAULT_BIN_DAYS, fuse_points

        return fuse_points(self.points(target, band), method=method,
                           bin_days=bin_days or DEFAULT_BIN_DAYS,
                           site_stat=self.site_statistics() if method == "learned" else None)

    def target_position(self, target: str) -> tuple[float, float] | None:
        """RA and Dec (deg) of a target, from its measurements."""
        for f in self.frames.get(target, []):
            m = f.measurement
            if m.get("ra") is not None and m.get("dec") is not None:
                return float(m["ra"]), float(m["dec"])
        return None
