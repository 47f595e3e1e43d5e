"""Division of labour: demanding work flows to the site of the network that does it best.

Faint and high-resolution work is sky-limited: the time to reach a given SNR
grows with the seeing disc's area, the sky's brightness and the extinction, and
shrinks with the collecting area. Its relative *efficiency* on telescope ``t``
is therefore

    D_t^2 / (FWHM^2 * sky flux) * 10^(-0.8 k (X - 1)) * (1 - clouds)^2

with FWHM = seeing * X^0.6 at the target's airmass X there. A candidate's value
at this telescope is discounted when a telescope at *another* open, dark,
reachable site, free now or within ``soon_s``, has the filter, sees the target
above its floor, and is clearly (``margin``) more efficient for it. Bright,
source-limited work is not routed (its exposures barely depend on sky and
seeing), nor are calibrations and follow-ups (bound to this instrument or to
the clock), nor candidates that multi-site coordination placed here on purpose.
Everything is vectorised over candidates; the loop is over the few telescopes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from control_center import astro
from control_center.plugin_api import Candidate, Conditions, DecisionContext, TelescopeState
from simulator.horizon import HorizonFrame

__all__ = ["DivisionOfLabour", "labour_factors", "sky_limited_efficiency"]


@dataclass(frozen=True)
class DivisionOfLabour:
    """When and how much a candidate is discounted in favour of a better site.

    Attributes
    ----------
    margin : float
        Another telescope must be at least ``1 + margin`` times as efficient.
    soon_s : float
        A busy telescope counts when it is free within this many seconds.
    min_factor : float
        The strongest discount (the value is never cut below this fraction).
    faint_v_mag : float
        Targets this faint or fainter are demanding (sky-limited)...
    long_exposure_s : float
        ...and so are exposures this long (deep work on bright hosts, survey depth).
    extinction_mag_per_airmass : float
    max_airmass : float
        The other site must see the target below this airmass.
    exempt_kinds : tuple of str
        Candidate kinds never routed elsewhere.
    exempt_proposers : tuple of str
        Plugins whose candidates are placed at this site on purpose.
    """

    margin: float = 0.25
    soon_s: float = 900.0
    min_factor: float = 0.5
    faint_v_mag: float = 15.0
    long_exposure_s: float = 180.0
    extinction_mag_per_airmass: float = 0.15
    max_airmass: float = 2.5
    exempt_kinds: tuple[str, ...] = ("calibration", "followup")
    exempt_proposers: tuple[str, ...] = ("coordination",)


def sky_limited_efficiency(aperture_m, conditions: Conditions, airmass,
                           extinction_mag_per_airmass: float = 0.15) -> np.ndarray:
    """Relative rate at which a sky-limited point source gains SNR^2 (vectorised).

    Parameters
    ----------
    aperture_m : float or array
    conditions : Conditions
        Seeing, sky brightness and cloud cover of the site now.
    airmass : array
        The target's airmass at the site.
    """
    airmass = np.asarray(airmass, dtype=float)
    fwhm = max(conditions.seeing_arcsec, 0.1) * airmass ** 0.6
    sky = 10.0 ** (-0.4 * (conditions.sky_v_mag_arcsec2 - 21.5))
    clear = (1.0 - float(np.clip(conditions.cloud_cover, 0.0, 1.0))) ** 2
    transmission = 10.0 ** (-0.8 * extinction_mag_per_airmass * (airmass - 1.0))
    return np.asarray(aperture_m) ** 2 / (fwhm ** 2 * sky) * transmission * clear


def labour_factors(context: DecisionContext, candidates: Sequence[Candidate], ra: np.ndarray,
                   dec: np.ndarray, airmass_here: np.ndarray, v_mag: np.ndarray,
                   rules: DivisionOfLabour = DivisionOfLabour(), *,
                   filters: Sequence[str] | None = None) -> np.ndarray:
    """Multiplier (``min_factor``..1) of each candidate's value at this telescope.

    Parameters
    ----------
    context : DecisionContext
        Uses ``telescopes`` (with ``busy_until``), ``conditions_by_site``,
        ``offline_sites`` and the night's dark intervals.
    candidates : sequence of Candidate
    ra, dec, airmass_here : array
        Positions and airmass here, aligned with ``candidates``.
    v_mag : array
        Target magnitudes (NaN when unknown).
    rules : DivisionOfLabour
    filters : sequence of str, optional
        The candidates' filters, if the caller has them already.
    """
    n = len(candidates)
    factor = np.ones(n)
    helpers = _helpers(context, rules.soon_s)
    if not n or not helpers:
        return factor
    exposure = np.fromiter((c.exposure_s for c in candidates), float, n)
    exempt = np.fromiter((c.kind in rules.exempt_kinds or c.proposed_by in rules.exempt_proposers
                          for c in candidates), bool, n)
    demanding = ~exempt & ((np.nan_to_num(v_mag, nan=-99.0) >= rules.faint_v_mag)
                           | (exposure >= rules.long_exposure_s))
    if not demanding.any():
        return factor
    rows = np.flatnonzero(demanding)            # only demanding work is priced elsewhere
    every = filters if filters is not None else [c.filter for c in candidates]
    names, filter_index = np.unique(np.array(every)[rows], return_inverse=True)
    ra, dec = np.asarray(ra)[rows], np.asarray(dec)[rows]
    k = rules.extinction_mag_per_airmass
    here = context.telescope
    mine = sky_limited_efficiency(here.telescope.aperture_m, context.conditions,
                                  np.asarray(airmass_here)[rows], k)
    best = np.zeros(rows.size)
    by_site: dict[str, list[TelescopeState]] = {}
    for state in helpers:
        by_site.setdefault(state.site.name, []).append(state)
    for site_name, states in by_site.items():
        site = states[0].site
        alt, _ = HorizonFrame(site.latitude_deg, site.longitude_deg, context.now).altaz_many(
            ra, dec, context.now)
        airmass = np.minimum(astro.airmass(alt), 10.0)
        conditions = context.conditions_by_site[site_name]
        for state in states:
            scope = state.telescope
            usable = ((alt >= scope.min_altitude_deg) & (airmass <= rules.max_airmass)
                      & np.isin(names, scope.filters)[filter_index])
            there = sky_limited_efficiency(scope.aperture_m, conditions, airmass, k)
            best = np.maximum(best, np.where(usable, there, 0.0))
    routed = best > 0
    factor[rows[routed]] = np.clip((1.0 + rules.margin) * mine[routed] / best[routed],
                                   rules.min_factor, 1.0)
    return factor


def _helpers(context: DecisionContext, soon_s: float) -> list[TelescopeState]:
    """Telescopes at other open, dark, reachable sites that are free now or soon."""
    here = context.telescope.site.name
    soon = context.now + timedelta(seconds=soon_s)
    out = []
    for _, state in sorted(context.telescopes.items()):
        site = state.site.name
        conditions = context.conditions_by_site.get(site)
        if (site == here or site in context.offline_sites or conditions is None
                or not conditions.open or not _dark(context, site, context.now)):
            continue
        if state.busy_with is not None and (state.busy_until is None or state.busy_until > soon):
            continue
        out.append(state)
    return out


def _dark(context: DecisionContext, site: str, now: datetime) -> bool:
    return any(begin <= now < end for begin, end in context.night.dark.get(site, ()))
