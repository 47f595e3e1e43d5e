"""Opportunistic work when the primary programmes cannot run.

:class:`Opportunistic` proposes short exposures of bright targets (OpenNGC
clusters, galaxies and planetary nebulae brighter than V 9, through
:func:`simulator.catalogue.ngc_objects`) for monitoring, at low priority, but
only when the queue cannot use the telescope well now
(:mod:`~plugins.generator.opportunistic_outlook`: poor seeing, a bright sky,
patchy cloud, or no queued request workable now).

What the candidates assume
--------------------------
They tolerate seeing up to ``max_seeing_arcsec`` (6"), cloud cover up to
``max_cloud_cover`` (0.8) and any sky brightness; they need an open dome, the
Sun below -12 deg, the target above the usable altitude (telescope limit,
horizon map, airmass 2.5) for the whole exposure, and the Moon at least
``10 + 30 x illumination`` deg away. The constraints plugin rejects every
non-calibration kind above 3.5" seeing, so in worse seeing these candidates
survive only if the constraints allow opportunistic work a looser seeing limit.

Ranking: ``priority = priority_max x brightness x (1 / airmass) x 0.5 ** n``
where ``brightness = 1 / (1 + exp((V - 7) / 1 mag))`` and ``n`` counts this
target's completed opportunistic observations; a target observed less than
``revisit_minutes`` ago (or being observed) is not proposed. Ties go to the
catalogue name. Exposures reach SNR 100 on the target's integrated V
magnitude in the present sky and seeing, clipped to 5-60 s.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from control_center import astro
from control_center.events import ObservationAssigned, ObservationCompleted, ObservationFailed
from control_center.plugin_api import Candidate, DecisionContext, NightPlan, hookimpl
from plugins.generator.opportunistic_outlook import QueueOutlook, ScienceGrade, queue_outlook
from plugins.generator.survey_sky import SkyCache, cloud_loss_mag, moon_limit_deg
from simulator import catalogue
from simulator.horizon import to_seconds
from simulator.outcome import exposure_for_snr
from simulator.telescope import expected_duration_s

__all__ = ["Opportunistic"]

PREFIX = "opportunistic:"
PROGRAM = "opportunistic-monitoring"
FILTER_PREFERENCE = ("r", "V", "i", "R", "g", "clear", "L", "B", "z")
"""Filters in order of preference (red first: moonlight and twilight are blue)."""
TARGET_SNR = 100.0
EXPOSURE_RANGE_S = (5.0, 60.0)
TWILIGHT_SUN_ALT_DEG = -12.0
_TABLE = "opportunistic-targets"


class Opportunistic:
    """Opportunistic generator (entry point ``opportunistic``).

    Parameters
    ----------
    max_candidates : int
        Candidates proposed per decision.
    priority_max : float
        Priority of the best target (0-10 scale; queue programmes run from 2 up).
    max_v_mag : float
        Faintest target kept from OpenNGC.
    revisit_minutes : float
        A target is not proposed again this soon after it was observed.
    max_seeing_arcsec, max_cloud_cover : float
        Beyond these even bright targets are not worth it: nothing is proposed.
    grade : ScienceGrade, optional
        Conditions in which the queue is considered able to run well.
    """

    def __init__(self, max_candidates: int = 10, priority_max: float = 1.0,
                 max_v_mag: float = 9.0, revisit_minutes: float = 60.0,
                 max_seeing_arcsec: float = 6.0, max_cloud_cover: float = 0.8,
                 grade: ScienceGrade | None = None) -> None:
        if not (isinstance(max_candidates, int) and 1 <= max_candidates <= 1000):
            raise ValueError(f"max_candidates must be an integer in [1, 1000], "
                             f"got {max_candidates!r}")
        if not 0.0 < priority_max <= 10.0:
            raise ValueError(f"priority_max must be in (0, 10], got {priority_max}")
        if revisit_minutes < 0:
            raise ValueError(f"revisit_minutes must not be negative, got {revisit_minutes}")
        self.max_candidates = max_candidates
        self.priority_max = float(priority_max)
        self.revisit_s = 60.0 * float(revisit_minutes)
        self.max_seeing_arcsec = float(max_seeing_arcsec)
        self.max_cloud_cover = float(max_cloud_cover)
        self.grade = grade or ScienceGrade()
        targets = catalogue.ngc_objects(max_v_mag, ("globular-cluster", "open-cluster",
                                                    "galaxy", "planetary-nebula"))
        if not targets:
            raise ValueError(f"no OpenNGC target brighter than V {max_v_mag}")
        self._names = [t.name for t in targets]
        self._index = {name: i for i, name in enumerate(self._names)}
        self._ra = np.array([t.ra_deg for t in targets])
        self._dec = np.array([t.dec_deg for t in targets])
        self._v = np.array([t.v_mag for t in targets])
        self._brightness = 1.0 / (1.0 + np.exp((self._v - 7.0) / 1.0))
        self._lock = threading.Lock()
        self._completed = np.zeros(len(targets), dtype=np.int32)
        self._last_end = np.full(len(targets), -np.inf)
        self._pending: dict[str, int] = {}
        self._skies = SkyCache()

    # -- hooks ---------------------------------------------------------------------------

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        self._skies.start_night(night)
        for site in night.network.sites:
            self._skies.get(site, night).table_altaz(_TABLE, self._ra, self._dec, 0.0)

    @hookimpl
    def openastro_event(self, event) -> None:
        if not isinstance(event, ObservationAssigned | ObservationCompleted | ObservationFailed):
            return
        if not event.request_id.startswith(PREFIX):
            return
        i = self._index.get(event.request_id[len(PREFIX):])
        if i is None:
            return
        with self._lock:
            if isinstance(event, ObservationAssigned):
                self._pending[event.observation_id] = i
                return
            self._pending.pop(event.observation_id, None)
            if isinstance(event, ObservationCompleted):
                self._completed[i] += 1
                self._last_end[i] = max(self._last_end[i], to_seconds(event.ended))

    def outlook(self, context: DecisionContext) -> QueueOutlook:
        """What the queue offers ``context.telescope`` now (why opportunistic work is due)."""
        sky = self._skies.get(context.telescope.site, context.night)
        return queue_outlook(context, sky, sky.now(context.now), self.grade)

    @hookimpl
    def openastro_propose(self, context: DecisionContext) -> list[Candidate]:
        c = context.conditions
        if (not c.open or c.seeing_arcsec > self.max_seeing_arcsec
                or c.cloud_cover > self.max_cloud_cover):
            return []
        state = context.telescope
        scope = state.telescope
        sky = self._skies.get(state.site, context.night)
        now = sky.now(context.now)
        if now.sun_alt_deg > TWILIGHT_SUN_ALT_DEG:
            return []
        if not queue_outlook(context, sky, now, self.grade, count=False).queue_ruled_out:
            return []
        filter = next((f for f in FILTER_PREFERENCE if f in scope.filters), scope.filters[0])
        alt, az = sky.table_altaz(_TABLE, self._ra, self._dec, now.t_s)
        with self._lock:
            recent = now.t_s - self._last_end < self.revisit_s
            recent[list(self._pending.values())] = True
            completed = self._completed.copy()
        busy = {r[len(PREFIX):] for r in context.busy_targets.values() if r.startswith(PREFIX)}
        ok = (alt >= sky.altitude_floor(scope, az)) & ~recent
        if now.moon_up:
            ok &= (sky.moon_separation(self._ra, self._dec, now)
                   >= moon_limit_deg(now.moon_illumination))
        idx = np.array([i for i in np.flatnonzero(ok) if self._names[i] not in busy], dtype=int)
        if idx.size == 0:
            return []
        airmass = np.minimum(astro.airmass(alt[idx]), 10.0)
        sky_mag = sky.sky_mag(alt[idx], sky.moon_separation(self._ra[idx], self._dec[idx], now),
                              now, filter, c.sky_v_mag_arcsec2)
        fwhm = sky.image_fwhm(c, airmass, filter, scope)
        loss = cloud_loss_mag(c.cloud_cover) + state.site.effects.dust_extinction_mag * airmass
        seconds = exposure_for_snr(TARGET_SNR, self._v[idx], aperture_m=scope.aperture_m,
                                   filter=filter, airmass=airmass, sky_mag_arcsec2=sky_mag,
                                   fwhm_arcsec=fwhm, pixel_scale_arcsec=scope.pixel_scale_arcsec,
                                   loss_mag=loss)
        lo, hi = EXPOSURE_RANGE_S
        exposure = np.minimum(hi, 5.0 * np.ceil(np.clip(seconds, lo, hi) / 5.0))
        duration = expected_duration_s(scope, state.pointing_ra_deg, state.pointing_dec_deg,
                                       state.filter, self._ra[idx], self._dec[idx],
                                       [filter] * idx.size, exposure)
        alt_end, az_end = sky.altaz(self._ra[idx], self._dec[idx],
                                    now.t_s + float(np.max(duration)))
        stays_up = alt_end >= sky.altitude_floor(scope, az_end)
        score = self._brightness[idx] / airmass * 0.5 ** completed[idx]
        names = np.array([self._names[i] for i in idx])
        out: list[Candidate] = []
        previous = math.inf
        for j in np.lexsort((names, -score)).tolist():
            if not stays_up[j]:
                continue
            priority = min(round(self.priority_max * float(score[j]), 4),
                           round(previous - 1e-4, 4))
            if priority <= 0:
                break
            previous = priority
            i = int(idx[j])
            out.append(Candidate(
                request_id=PREFIX + self._names[i], target=self._names[i],
                ra_deg=round(float(self._ra[i]), 6), dec_deg=round(float(self._dec[i]), 6),
                filter=filter, exposure_s=float(exposure[j]), program=PROGRAM,
                kind="opportunistic", priority=priority, proposed_by="opportunistic",
                v_mag=float(self._v[i])))
            if len(out) == self.max_candidates:
                break
        return out
