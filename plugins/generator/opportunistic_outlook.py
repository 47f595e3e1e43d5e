"""Can the queue use this telescope well right now? If not, why not.

The opportunistic generator steps in only when the primary programmes cannot
run well: the conditions are below science grade (poor seeing, a bright
Moon or twilight sky, patchy cloud), or no queued request is workable now on
this telescope. A request is *workable* when

* it has exposures still wanted in a filter the telescope has, and has failed
  fewer than :data:`MAX_FAILURES` times (the queue generator's own rule);
* its time window, if any, allows it now;
* no other telescope is observing it;
* it is above the usable altitude now and still at the end of its exposure
  (telescope limit, horizon map, airmass 2.5), and far enough from the Moon.

The plugin cannot see what the constraints will reject; this mirrors their
default limits closely enough to know when the queue is effectively empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from control_center.plugin_api import DecisionContext
from plugins.generator.survey_sky import SiteSky, SkyNow, moon_limit_deg

__all__ = ["MAX_FAILURES", "QueueOutlook", "ScienceGrade", "queue_outlook"]

MAX_FAILURES = 3
"""A request that failed this often is not proposed again by the queue generator."""
SETUP_ALLOWANCE_S = 120.0
"""Slew, settle and readout allowed for when checking that a target stays up."""
_CHUNK = 128
"""Requests checked per vectorised step."""


@dataclass(frozen=True)
class ScienceGrade:
    """Conditions in which the queue's programmes can be done well.

    Parameters
    ----------
    max_seeing_arcsec : float
        Zenith seeing above this is poor for science (the constraints reject
        science only above 3.5"; between the two, science is possible but poor).
    max_cloud_cover : float
        Cloud cover above this is patchy cloud: exposures are often lost.
    min_sky_v_mag : float
        A zenith sky brighter than this (V mag/arcsec^2; a dark sky is ~21.5) is
        a bright Moon or twilight sky.
    """

    max_seeing_arcsec: float = 2.5
    max_cloud_cover: float = 0.4
    min_sky_v_mag: float = 19.5

    def __post_init__(self) -> None:
        for name in ("max_seeing_arcsec", "max_cloud_cover", "min_sky_v_mag"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"ScienceGrade.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class QueueOutlook:
    """What the queue offers this telescope now.

    Attributes
    ----------
    workable : int or None
        Queued requests this telescope could start now (see the module docstring);
        None when not counted.
    reasons : tuple of str
        Why the queue cannot use the telescope well; empty when it can.
    """

    workable: int | None
    reasons: tuple[str, ...]

    @property
    def queue_ruled_out(self) -> bool:
        return bool(self.reasons)


def queue_outlook(context: DecisionContext, sky: SiteSky, now: SkyNow, grade: ScienceGrade,
                  *, count: bool = True) -> QueueOutlook:
    """Assess the queue for ``context.telescope`` under ``context.conditions``.

    With ``count=False`` the queue is not counted when the conditions alone
    rule it out (``workable`` is then None), and counting stops at the first
    workable request: all a decision needs to know.
    """
    c = context.conditions
    reasons = []
    if c.seeing_arcsec > grade.max_seeing_arcsec:
        reasons.append(f"seeing {c.seeing_arcsec:.2f}\" > {grade.max_seeing_arcsec:g}\"")
    if c.sky_v_mag_arcsec2 < grade.min_sky_v_mag:
        reasons.append(f"bright sky {c.sky_v_mag_arcsec2:.2f} < {grade.min_sky_v_mag:g} "
                       "V mag/arcsec2")
    if c.cloud_cover > grade.max_cloud_cover:
        reasons.append(f"cloud cover {c.cloud_cover:.2f} > {grade.max_cloud_cover:g}")
    if reasons and not count:
        return QueueOutlook(None, tuple(reasons))
    workable = count_workable(context, sky, now, stop_at=None if count else 1)
    if workable == 0:
        reasons.append("no queued request workable now")
    return QueueOutlook(workable, tuple(reasons))


def count_workable(context: DecisionContext, sky: SiteSky, now: SkyNow, *,
                   stop_at: int | None = None) -> int:
    """Queued requests the telescope could start now (vectorised over chunks of the queue).

    Stops early once ``stop_at`` workable requests are found.
    """
    scope = context.telescope.telescope
    busy = set(context.busy_targets.values())
    at = context.now
    total = 0
    picked: list[tuple[float, float, float]] = []
    for i, r in enumerate(context.queue):
        if not (r.failures >= MAX_FAILURES or r.request_id in busy
                or not any(f in scope.filters and r.remaining(f) > 0 for f in r.filters)
                or (r.not_before is not None and r.not_before > at)
                or (r.not_after is not None
                    and (r.not_after - at).total_seconds() < r.exposure_s)):
            picked.append((r.ra_deg, r.dec_deg, r.exposure_s))
        if picked and (len(picked) == _CHUNK or i == len(context.queue) - 1):
            total += _up_now(context, sky, now, picked)
            picked = []
            if stop_at is not None and total >= stop_at:
                break
    return total


def _up_now(context: DecisionContext, sky: SiteSky, now: SkyNow,
            picked: list[tuple[float, float, float]]) -> int:
    """How many of ``picked`` (ra, dec, exposure) are up now and until their exposure ends.

    One later time serves the whole chunk (its longest exposure plus set-up), so a
    target that sets within it counts as setting.
    """
    scope = context.telescope.telescope
    ra, dec, exposure = (np.array(col, dtype=float) for col in zip(*picked, strict=True))
    alt, az = sky.altaz(ra, dec, now.t_s)
    up = alt >= sky.altitude_floor(scope, az)
    alt_end, az_end = sky.altaz(ra, dec, now.t_s + float(exposure.max()) + SETUP_ALLOWANCE_S)
    up &= alt_end >= sky.altitude_floor(scope, az_end)
    if now.moon_up:
        up &= sky.moon_separation(ra, dec, now) >= moon_limit_deg(now.moon_illumination)
    return int(up.sum())
