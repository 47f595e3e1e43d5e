"""The follow-ups of a new source, and how one becomes a candidate for a telescope.

Four follow-ups per new source (seed Component 5, "Follow-Up Proposals", and
"Confirmation Mode"):

================  ================================  =========================  ==========
what              where                             when                       filter
================  ================================  =========================  ==========
``colour``        the detecting site                at once, within 1 h        another band
``variability``   any site                          1.5 h later, within 8 h    the same band
``confirmation``  any *other* site                  at once, within 2 h        the same band
``context``       any site                          once, no deadline          the same band
================  ================================  =========================  ==========

Exposures reach an SNR at the detected magnitude (fainter margin for another
band) on the proposing telescope in the site's current seeing and sky.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from control_center.network import Telescope
from control_center.plugin_api import Candidate, Conditions, DecisionContext
from plugins.generator.followup_context import Host
from plugins.generator.followup_sources import Source

__all__ = ["FollowUp", "FollowUpPolicy", "best_filter", "colour_filter", "plan_followups"]

PROGRAM = "followups"
KIND = "followup"


@dataclass(frozen=True)
class FollowUpPolicy:
    """Priorities, windows and depths of the four follow-ups."""

    colour_priority: float = 8.5
    variability_priority: float = 8.0
    confirmation_priority: float = 9.5
    context_priority: float = 5.0
    colour_window: timedelta = timedelta(hours=1)
    variability_delay: timedelta = timedelta(hours=1.5)
    variability_window: timedelta = timedelta(hours=8)
    confirmation_window: timedelta = timedelta(hours=2)
    snr: float = 20.0
    """SNR the follow-up exposures aim for at the detected magnitude."""
    colour_margin_mag: float = 0.5
    """The source may be this much fainter in the other band."""
    context_depth_mag: float = 21.0
    """The context image reaches SNR 10 at this magnitude (a deep look at the host)."""
    exposure_range_s: tuple[float, float] = (30.0, 600.0)
    max_failures: int = 2
    """A follow-up that failed this often is given up."""
    retry_after: timedelta = timedelta(minutes=10)
    """A failed follow-up is proposed again after this (clouds pass, domes reopen)."""
    min_real_score: float = 0.95
    """A detection a real/bogus model scored below this is neither a new source nor a
    sighting: telescope time goes only to candidates the model is sure of (detections
    without a score, from hand cuts or a simulated site, always count)."""


@dataclass
class FollowUp:
    """One follow-up observation wanted for a source."""

    request_id: str
    what: str
    source: Source
    target: str
    ra_deg: float
    dec_deg: float
    priority: float
    depth_mag: float
    depth_snr: float
    not_before: datetime | None
    not_after: datetime | None
    at_site: str | None = None
    """Only telescopes of this site may take it (colour)."""
    not_at_site: str | None = None
    """Only telescopes of other sites may take it (confirmation)."""
    other_band: bool = False
    failures: int = 0
    retry_at: datetime | None = None
    """After a failure: not proposed again before this."""
    in_flight: str | None = None
    """Telescope executing it now."""
    _exposures: dict[str, float] = field(default_factory=dict, repr=False)

    def open_at(self, now: datetime) -> bool:
        """Inside its time window at ``now``."""
        return ((self.not_before is None or now >= self.not_before)
                and (self.not_after is None or now < self.not_after))

    def expired(self, now: datetime) -> bool:
        return self.not_after is not None and now >= self.not_after

    def candidate(self, context: DecisionContext, policy: FollowUpPolicy) -> Candidate | None:
        """This follow-up for ``context.telescope``, or None if that telescope cannot do it."""
        state = context.telescope
        site = state.site.name
        if self.in_flight is not None or not self.open_at(context.now):
            return None
        if self.retry_at is not None and context.now < self.retry_at:
            return None
        if (self.at_site is not None and site != self.at_site) or site == self.not_at_site:
            return None
        scope = state.telescope
        chosen = (colour_filter(self.source.filter, scope.filters) if self.other_band
                  else best_filter(self.source.filter, scope.filters))
        if chosen is None:
            return None
        exposure = self._exposures.get(scope.name)
        if exposure is None:
            exposure = exposure_s(scope, chosen, self.depth_mag, self.depth_snr,
                                  context.conditions, policy.exposure_range_s)
            self._exposures[scope.name] = exposure
        return Candidate(request_id=self.request_id, target=self.target, ra_deg=self.ra_deg,
                         dec_deg=self.dec_deg, filter=chosen, exposure_s=exposure,
                         program=PROGRAM, kind=KIND, priority=self.priority,
                         proposed_by="followups", not_before=self.not_before,
                         not_after=self.not_after)


def plan_followups(source: Source, host: Host | None, policy: FollowUpPolicy,
                   night_end: datetime | None = None) -> list[FollowUp]:
    """The follow-ups of a new source (context only when a host galaxy is known)."""
    t = source.first_seen
    prefix = f"followup:{source.observation_id}:{source.n}"
    depth = source.mag

    def item(what: str, priority: float, **kw) -> FollowUp:
        return FollowUp(request_id=f"{prefix}:{what}", what=what, source=source,
                        target=source.name, ra_deg=source.ra_deg, dec_deg=source.dec_deg,
                        priority=priority, depth_mag=depth, depth_snr=policy.snr, **kw)

    late = t + policy.variability_window
    out = [
        item("colour", policy.colour_priority, not_before=t,
             not_after=t + policy.colour_window, at_site=source.site, other_band=True),
        item("variability", policy.variability_priority, not_before=t + policy.variability_delay,
             not_after=min(late, night_end) if night_end and night_end > t else late),
        item("confirmation", policy.confirmation_priority, not_before=t,
             not_after=t + policy.confirmation_window, not_at_site=source.site),
    ]
    out[0].depth_mag = depth + policy.colour_margin_mag
    if host is not None:
        out.append(FollowUp(
            request_id=f"{prefix}:context", what="context", source=source,
            target=f"{host.name} (host of {source.name})", ra_deg=host.ra_deg,
            dec_deg=host.dec_deg, priority=policy.context_priority,
            depth_mag=policy.context_depth_mag, depth_snr=10.0, not_before=t, not_after=None))
    return out


def _wavelength(name: str) -> float | None:
    from simulator.bands import BANDS

    b = BANDS.get(name)
    return None if b is None or b.width < 0.05 else b.wavelength_nm


def best_filter(wanted: str, have: tuple[str, ...]) -> str | None:
    """``wanted`` if the telescope has it, else its broad band nearest in wavelength."""
    if wanted in have:
        return wanted
    target = _wavelength(wanted)
    broad = [(f, _wavelength(f)) for f in have if _wavelength(f) is not None]
    if target is None or not broad:
        return broad[0][0] if broad else None
    return min(broad, key=lambda fw: (abs(fw[1] - target), fw[0]))[0]


def colour_filter(detected: str, have: tuple[str, ...], separation_nm: float = 150.0,
                  ) -> str | None:
    """Another broad band of the telescope for a colour: about ``separation_nm`` away
    (``g`` for ``r``, ``r`` for ``g``, ``B`` for ``V``); None if it has no other."""
    base = _wavelength(detected)
    broad = [(f, _wavelength(f)) for f in have if f != detected and _wavelength(f) is not None]
    if not broad:
        return None
    if base is None:
        return broad[0][0]
    return min(broad, key=lambda fw: (abs(abs(fw[1] - base) - separation_nm), fw[0]))[0]


def exposure_s(scope: Telescope, filter: str, mag: float, snr: float, conditions: Conditions,
               exposure_range_s: tuple[float, float], airmass: float = 1.3) -> float:
    """Exposure (s) reaching ``snr`` at ``mag`` on ``scope`` in the site's seeing and sky,
    clipped to ``exposure_range_s`` and rounded up to 10 s."""
    from simulator.outcome import delivered_seeing, exposure_for_snr
    from simulator.sky import sky_brightness

    sky = float(sky_brightness(60.0, 90.0, -30.0, 0.0, -30.0,
                               dark_sky_v_mag=conditions.sky_v_mag_arcsec2, filter=filter))
    fwhm = float(delivered_seeing(conditions.seeing_arcsec, airmass, filter,
                                  pixel_scale_arcsec=scope.pixel_scale_arcsec))
    seconds = float(exposure_for_snr(snr, mag, aperture_m=scope.aperture_m, filter=filter,
                                     airmass=airmass, sky_mag_arcsec2=sky, fwhm_arcsec=fwhm,
                                     pixel_scale_arcsec=scope.pixel_scale_arcsec))
    lo, hi = exposure_range_s
    if not math.isfinite(seconds):
        return hi
    return min(hi, max(lo, 10.0 * math.ceil(seconds / 10.0)))
