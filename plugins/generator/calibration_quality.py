"""Data quality of one telescope, learned frame by frame: does it need a calibration?

* Focus: the delivered image FWHM against what the site's reported seeing
  predicts at that airmass and band (with the site's vibration, wind shake and
  pixel sampling). ``focus_frames`` frames in a row worse by ``focus_ratio``
  *and* ``focus_excess_arcsec`` call for a focus check. The observation's
  ``seeing_arcsec`` is compared with that prediction directly; a FWHM the edge
  pipeline *measured* (``fwhm_arcsec``) carries the instrument's own blur (the
  sampling of the frame, the measuring method), so the prediction is widened in
  quadrature by that blur: the lower quartile of ``measured^2 - predicted^2``
  over the telescope's last ``baseline_frames`` measured frames (judged once
  ``learn_frames`` are in).
* Photometry: the frame's ``zero_point`` corrected to the top of the
  atmosphere (``+ k X``), per filter: the median of the last ``zp_frames``
  against the median of the first ``zp_frames`` since the last standard. A
  difference over ``zp_drift_mag`` under a photometric sky (cloud cover up to
  ``photometric_max_cloud``) calls for a standard.
* Pointing: slews longer than ``slew_min_deg`` since the last pointing check,
  or a reported pointing offset (``pointing_offset_arcsec`` in the frame's
  measures) above ``pointing_offset_arcsec``.
* Darks: a camera temperature (``camera_temperature_c`` in the frame's
  measures) that moved ``dark_temperature_change_c`` from the last dark's.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["QualityPolicy", "ScopeQuality"]


@dataclass(frozen=True)
class QualityPolicy:
    """Thresholds of :class:`ScopeQuality`."""

    focus_frames: int = 3
    focus_ratio: float = 1.3
    focus_excess_arcsec: float = 0.3
    learn_frames: int = 8
    baseline_frames: int = 30
    zp_frames: int = 5
    zp_drift_mag: float = 0.2
    photometric_max_cloud: float = 0.2
    pointing_slews: int = 100
    slew_min_deg: float = 1.0
    pointing_offset_arcsec: float = 30.0
    dark_temperature_change_c: float = 2.0


@dataclass
class ScopeQuality:
    """What one telescope's recent frames say about its calibration."""

    policy: QualityPolicy = field(default_factory=QualityPolicy)
    worse_seeing: deque = field(default_factory=deque)
    instrument_blur2: deque = field(default_factory=deque)
    """``measured^2 - predicted^2`` (arcsec^2) of the last measured frames."""
    zp_reference: dict[str, float] = field(default_factory=dict)
    zp_recent: dict[str, deque] = field(default_factory=dict)
    slews: int = 0
    last_position: tuple[float, float] | None = None
    pointing_offset_arcsec: float | None = None
    temperature_c: float | None = None
    dark_temperature_c: float | None = None

    # -- what frames tell -------------------------------------------------------------------

    def seeing(self, delivered_arcsec: float, expected_arcsec: float, *,
               measured: bool = False) -> None:
        """One frame's FWHM and the FWHM the site's seeing predicts; ``measured`` when
        the edge pipeline measured it (compared with the telescope's typical ratio)."""
        p = self.policy
        if not (delivered_arcsec > 0 and expected_arcsec > 0):
            return
        expected = expected_arcsec
        if measured:
            blur2 = self.instrument_blur2
            blur2.append(delivered_arcsec**2 - expected_arcsec**2)
            while len(blur2) > p.baseline_frames:
                blur2.popleft()
            if len(blur2) < p.learn_frames:
                return
            expected = math.sqrt(expected_arcsec**2 + max(0.0, sorted(blur2)[len(blur2) // 4]))
        worse = (delivered_arcsec > p.focus_ratio * expected
                 and delivered_arcsec - expected > p.focus_excess_arcsec)
        self.worse_seeing.append(worse)
        while len(self.worse_seeing) > p.focus_frames:
            self.worse_seeing.popleft()

    def zero_point(self, filter: str, zp_top: float, photometric: bool) -> None:
        """One frame's zero point corrected to the top of the atmosphere."""
        if not math.isfinite(zp_top) or not photometric:
            return
        n = self.policy.zp_frames
        recent = self.zp_recent.setdefault(filter, deque())
        recent.append(zp_top)
        while len(recent) > n:
            recent.popleft()
        if filter not in self.zp_reference and len(recent) == n:
            self.zp_reference[filter] = _median(recent)

    def slewed_to(self, ra_deg: float, dec_deg: float) -> None:
        last = self.last_position
        if last is not None and _separation_deg(*last, ra_deg, dec_deg) > self.policy.slew_min_deg:
            self.slews += 1
        self.last_position = (ra_deg, dec_deg)

    # -- what is due ------------------------------------------------------------------------

    @property
    def focus_due(self) -> bool:
        q = self.worse_seeing
        return len(q) >= self.policy.focus_frames and all(q)

    def zp_drift(self, filter: str) -> float | None:
        """How far the recent zero points of ``filter`` are from the reference (mag)."""
        reference, recent = self.zp_reference.get(filter), self.zp_recent.get(filter)
        if reference is None or recent is None or len(recent) < self.policy.zp_frames:
            return None
        return _median(recent) - reference

    @property
    def drifted_filters(self) -> list[str]:
        """Filters whose zero point drifted (the largest drift first)."""
        drifts = [(abs(d), f) for f in self.zp_reference
                  if (d := self.zp_drift(f)) is not None and abs(d) > self.policy.zp_drift_mag]
        return [f for _, f in sorted(drifts, key=lambda df: (-df[0], df[1]))]

    @property
    def pointing_due(self) -> bool:
        offset = self.pointing_offset_arcsec
        return (self.slews >= self.policy.pointing_slews
                or (offset is not None and offset > self.policy.pointing_offset_arcsec))

    @property
    def temperature_changed(self) -> bool:
        now, then = self.temperature_c, self.dark_temperature_c
        return (now is not None and then is not None
                and abs(now - then) >= self.policy.dark_temperature_change_c)

    # -- after a calibration ----------------------------------------------------------------

    def focused(self) -> None:
        self.worse_seeing.clear()

    def standardised(self, filter: str | None = None) -> None:
        """A standard was observed: zero points are measured afresh (one filter or all)."""
        for f in [filter] if filter else list(self.zp_recent):
            self.zp_reference.pop(f, None)
            self.zp_recent.pop(f, None)

    def pointing_checked(self) -> None:
        self.slews = 0
        self.pointing_offset_arcsec = None

    def dark_taken(self) -> None:
        self.dark_temperature_c = self.temperature_c


def _median(values) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def _separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    c = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))
