"""Survey fields on a HEALPix grid, chosen by coverage, priority regions, conditions and yield.

For the deciding telescope, :class:`SurveyFields` proposes up to
``max_candidates`` fields of its own grid (the HEALPix pixel that fits its
field of view, :func:`~plugins.generator.survey_grid.nside_for_field`), each as
a candidate of kind ``survey`` with request id ``survey:n<nside>:<pixel>``.

How fields are ranked
---------------------
Only fields above the usable altitude now *and* at the end of the exposure
(telescope limit, horizon map, airmass 2.5) and far enough from the Moon
(``10 + 30 x illumination`` deg) are proposed. Each (field, filter) gets

    score = region value x 0.5 ** coverage

* *region value*: the best ``weight x yield`` over the priority regions
  containing the field (:mod:`~plugins.generator.survey_regions`), where the
  yield compares the depth the exposure reaches now at this field (seeing,
  sky brightness with the Moon and twilight, cloud, airmass, aperture:
  :mod:`~plugins.generator.survey_yield`) with the depth the region needs;
* *coverage*: observations of the field in that filter so far (completed or
  in progress), learned from the log through ``openastro_event``.

``priority = priority_max x score`` (default ``priority_max`` 2.0: the queue's
programmes run from 2 to 10, see :mod:`simulator.programs`, so the survey
fills gaps and does not starve them). Ties are broken by pixel index, then
filter order; priorities strictly decrease with rank.

Speed: the search runs on coarse 3.7-degree cells (their alt-az tabulated for
the night in ``openastro_night_started``), scored in the first filter and by
their least-observed field; in the best ``max_candidates`` cells the
least-observed field of each filter is then checked and ranked exactly. A call
takes about 2 ms of CPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from control_center import astro
from control_center.events import ObservationAssigned, ObservationCompleted, ObservationFailed
from control_center.network import Site, Telescope
from control_center.plugin_api import Candidate, DecisionContext, NightPlan, hookimpl
from plugins.generator.survey_coverage import SurveyCoverage, field_request_id
from plugins.generator.survey_grid import (
    SurveyGrid,
    ecliptic_latitude_deg,
    galactic_latitude_deg,
    nside_for_field,
    survey_grid,
)
from plugins.generator.survey_regions import (
    DEFAULT_REGIONS,
    SurveyRegion,
    check_regions,
    membership,
)
from plugins.generator.survey_sky import SiteSky, SkyCache, SkyNow, cloud_loss_mag, moon_limit_deg
from plugins.generator.survey_yield import depth_now, expected_yield, survey_exposure_s
from simulator.telescope import expected_duration_s

__all__ = ["SurveyFields"]

PROGRAM = "healpix-survey"
SURVEY_FILTERS = ("r", "g", "i")
"""Survey filters, in order of preference (ties go to the earlier one)."""
TWILIGHT_SUN_ALT_DEG = -12.0
"""The survey needs the Sun below this (as science does in the constraints)."""
DEPTH_MARGIN_MAG = 0.5
"""Exposures aim this much deeper than the deepest region needs (yield ~0.9 on a typical
night; see :mod:`~plugins.generator.survey_yield`)."""
_ALTITUDE_MARGIN_DEG = 0.5
_CENTRE_CACHE_SIZE = 100_000


@dataclass(frozen=True)
class _TelescopePlan:
    """What does not change during a night for one telescope."""

    grid: SurveyGrid
    filters: tuple[str, ...]
    exposure_s: dict[str, float]
    cell_regions: np.ndarray
    """Regions x cells membership of the coarse cells."""


class SurveyFields:
    """Survey generator (entry point ``survey``).

    Parameters
    ----------
    regions : sequence of SurveyRegion
        Priority regions (default :data:`~plugins.generator.survey_regions.DEFAULT_REGIONS`).
    filters : sequence of str
        Survey filters in order of preference; a telescope uses those it has.
    max_candidates : int
        Candidates proposed per decision.
    priority_max : float
        Priority of a never-observed field of weight 1 at full yield (0-10 scale).
    coverage_decay : float
        Each earlier observation of a field in a filter multiplies its score by this.
    nominal_depth_mag : float, optional
        Depth (SNR 5) each telescope's exposure is sized for in a typical dark night
        (default: the deepest region's depth + :data:`DEPTH_MARGIN_MAG`).
    """

    def __init__(self, regions: Sequence[SurveyRegion] = DEFAULT_REGIONS,
                 filters: Sequence[str] = SURVEY_FILTERS, max_candidates: int = 30,
                 priority_max: float = 2.0, coverage_decay: float = 0.5,
                 nominal_depth_mag: float | None = None) -> None:
        self.regions = check_regions(regions)
        self.filters = tuple(filters)
        if not self.filters or not all(isinstance(f, str) and f for f in self.filters):
            raise ValueError(f"survey filters must be non-empty names, got {filters!r}")
        if not (isinstance(max_candidates, int) and 1 <= max_candidates <= 1000):
            raise ValueError(f"max_candidates must be an integer in [1, 1000], "
                             f"got {max_candidates!r}")
        if not 0.0 < priority_max <= 10.0:
            raise ValueError(f"priority_max must be in (0, 10], got {priority_max}")
        if not 0.0 <= coverage_decay < 1.0:
            raise ValueError(f"coverage_decay must be in [0, 1), got {coverage_decay}")
        self.max_candidates = max_candidates
        self.priority_max = float(priority_max)
        self.coverage_decay = float(coverage_decay)
        self.nominal_depth_mag = (max(r.depth_mag for r in self.regions) + DEPTH_MARGIN_MAG
                                  if nominal_depth_mag is None else float(nominal_depth_mag))
        self.coverage = SurveyCoverage()
        self._skies = SkyCache()
        self._plans: dict[tuple[Site, Telescope], _TelescopePlan] = {}
        self._centres: dict[int, dict[int, tuple[float, float]]] = {}
        self._weights = np.array([r.weight for r in self.regions])
        self._depths = np.array([r.depth_mag for r in self.regions])

    # -- hooks ---------------------------------------------------------------------------

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        self._skies.start_night(night)
        for site, scope in night.network.telescopes():
            grid = self.plan(site, scope).grid
            self._skies.get(site, night).table_altaz(
                f"cells-{grid.coarse_nside}", grid.cell_ra_deg, grid.cell_dec_deg, 0.0)

    @hookimpl
    def openastro_event(self, event) -> None:
        if isinstance(event, ObservationAssigned):
            self.coverage.assigned(event.observation_id, event.request_id, event.filter)
        elif isinstance(event, ObservationCompleted):
            self.coverage.completed(event.observation_id, event.request_id, event.filter)
        elif isinstance(event, ObservationFailed):
            self.coverage.failed(event.observation_id, event.request_id)

    @hookimpl
    def openastro_propose(self, context: DecisionContext) -> list[Candidate]:
        conditions = context.conditions
        if not conditions.open:
            return []
        site, scope = context.telescope.site, context.telescope.telescope
        plan = self.plan(site, scope)
        if not plan.filters:
            return []
        sky = self._skies.get(site, context.night)
        now = sky.now(context.now)
        if now.sun_alt_deg > TWILIGHT_SUN_ALT_DEG:
            return []
        shortlist = self._search_cells(plan, sky, now, context)
        return self._candidates(plan, sky, now, context, shortlist)

    # -- per-night set-up ----------------------------------------------------------------

    def plan(self, site: Site, scope: Telescope) -> _TelescopePlan:
        """The telescope's grid, filters and exposures (cached per telescope)."""
        key = (site, scope)
        plan = self._plans.get(key)
        if plan is None:
            grid = survey_grid(nside_for_field(scope.field_of_view_arcmin / 60.0))
            filters = tuple(f for f in self.filters if f in scope.filters)
            exposure = {f: survey_exposure_s(site, scope, f, self.nominal_depth_mag)
                        for f in filters}
            plan = _TelescopePlan(grid, filters, exposure,
                                  membership(self.regions, grid.cell_b_deg, grid.cell_beta_deg))
            self._plans[key] = plan
        return plan

    def _field_centres(self, grid: SurveyGrid, pixels: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Centres of fields, remembered (the same fields come back decision after decision)."""
        cache = self._centres.setdefault(grid.nside, {})
        found = {p: cache.get(p) for p in pixels.tolist()}
        missing = [p for p, centre in found.items() if centre is None]
        if missing:
            ra, dec = grid.field_centres(missing)
            computed = dict(zip(missing, zip(ra.tolist(), dec.tolist(), strict=True),
                                strict=True))
            found.update(computed)
            if len(cache) > _CENTRE_CACHE_SIZE:
                cache.clear()
            cache.update(computed)
        ra_dec = np.array([found[p] for p in pixels.tolist()], dtype=float).reshape(-1, 2)
        return ra_dec[:, 0], ra_dec[:, 1]

    # -- ranking -------------------------------------------------------------------------

    def _depth(self, sky: SiteSky, context: DecisionContext, scope: Telescope, filter: str,
               exposure_s: float, airmass: np.ndarray, sky_mag: np.ndarray) -> np.ndarray:
        """Limiting magnitude (SNR 5) reached now at each field."""
        conditions = context.conditions
        fwhm = sky.image_fwhm(conditions, airmass, filter, scope)
        loss = (cloud_loss_mag(conditions.cloud_cover)
                + sky.site.effects.dust_extinction_mag * airmass)
        return depth_now(exposure_s, scope, filter, airmass, sky_mag, fwhm, loss)

    def _region_value(self, members: np.ndarray, m_lim: np.ndarray) -> np.ndarray:
        """Best ``weight x yield`` over the regions containing each field."""
        per_region = self._weights[:, None] * expected_yield(m_lim[None, :], self._depths[:, None])
        return np.where(members, per_region, 0.0).max(axis=0)

    def _search_cells(self, plan: _TelescopePlan, sky: SiteSky, now: SkyNow,
                      context: DecisionContext) -> np.ndarray:
        """The best ``max_candidates`` coarse cells, best first.

        A cell's score is its region value in the first survey filter times the
        coverage factor of its least-observed field in the least-observed filter;
        the exact ranking per filter is done on the fields of these cells.
        """
        grid, scope = plan.grid, context.telescope.telescope
        alt, az = sky.table_altaz(f"cells-{grid.coarse_nside}", grid.cell_ra_deg,
                                  grid.cell_dec_deg, now.t_s)
        cells = np.flatnonzero(
            alt >= sky.altitude_floor(scope, az) + grid.cell_radius_deg + _ALTITUDE_MARGIN_DEG)
        moon_sep = sky.moon_separation(grid.cell_ra_deg[cells], grid.cell_dec_deg[cells], now)
        if now.moon_up:
            keep = moon_sep >= moon_limit_deg(now.moon_illumination) + grid.cell_radius_deg
            cells, moon_sep = cells[keep], moon_sep[keep]
        if cells.size == 0:
            return cells
        first = plan.filters[0]
        airmass = np.minimum(astro.airmass(alt[cells]), 10.0)
        sky_mag = sky.sky_mag(alt[cells], moon_sep, now, first,
                              context.conditions.sky_v_mag_arcsec2)
        m_lim = self._depth(sky, context, scope, first, plan.exposure_s[first], airmass, sky_mag)
        value = self._region_value(plan.cell_regions[:, cells], m_lim)
        least = np.min([self.coverage.cell_minimum(grid.nside, f, cells)
                        for f in plan.filters], axis=0)
        score = value * self.coverage_decay ** least
        order = np.lexsort((cells, -score))[:self.max_candidates]
        return cells[order[score[order] > 0]]

    def _candidates(self, plan: _TelescopePlan, sky: SiteSky, now: SkyNow,
                    context: DecisionContext, cells: np.ndarray) -> list[Candidate]:
        """In each cell and filter the least-observed field, checked and ranked exactly."""
        if cells.size == 0:
            return []
        grid, state = plan.grid, context.telescope
        scope = state.telescope
        n_filters = len(plan.filters)
        # (filter, cell) pairs, filter-major; many share a field.
        pair_pixel = np.concatenate([self.coverage.least_observed(grid.nside, f, cells)
                                     for f in plan.filters])
        pair_filter = np.repeat(np.arange(n_filters), cells.size)
        pixels, pair_field = np.unique(pair_pixel, return_inverse=True)
        ra, dec = self._field_centres(grid, pixels)
        alt, az = sky.altaz(ra, dec, now.t_s)
        exposure = np.array([plan.exposure_s[f] for f in plan.filters])
        longest = float(np.max(expected_duration_s(
            scope, state.pointing_ra_deg, state.pointing_dec_deg, state.filter, ra, dec,
            [plan.filters[int(np.argmax(exposure))]] * pixels.size,
            np.full(pixels.size, exposure.max()))))
        alt_end, az_end = sky.altaz(ra, dec, now.t_s + longest)
        moon_sep = sky.moon_separation(ra, dec, now)
        ok = ((alt >= sky.altitude_floor(scope, az) + _ALTITUDE_MARGIN_DEG)
              & (alt_end >= sky.altitude_floor(scope, az_end) + _ALTITUDE_MARGIN_DEG))
        if now.moon_up:
            ok &= moon_sep >= moon_limit_deg(now.moon_illumination)
        members = membership(self.regions, galactic_latitude_deg(ra, dec),
                             ecliptic_latitude_deg(ra, dec))
        airmass = np.minimum(astro.airmass(alt), 10.0)
        sky_mags = sky.sky_mags(alt, moon_sep, now, plan.filters,
                                context.conditions.sky_v_mag_arcsec2)
        score = np.zeros(pair_pixel.size)
        for i, f in enumerate(plan.filters):
            m_lim = self._depth(sky, context, scope, f, plan.exposure_s[f], airmass, sky_mags[f])
            value = self._region_value(members, m_lim)
            rows = slice(i * cells.size, (i + 1) * cells.size)
            seen_before = self.coverage.counts(grid.nside, pair_pixel[rows], f)
            score[rows] = value[pair_field[rows]] * self.coverage_decay ** seen_before
        order = np.lexsort((pair_filter, pair_pixel, -score))
        busy = set(context.busy_targets.values())
        width = len(str(grid.n_fields - 1))
        seen: set[tuple[int, int]] = set()
        out: list[Candidate] = []
        previous = math.inf
        for j in order.tolist():
            field, pixel, i = int(pair_field[j]), int(pair_pixel[j]), int(pair_filter[j])
            request_id = field_request_id(grid.nside, pixel)
            if not ok[field] or score[j] <= 0 or (pixel, i) in seen or request_id in busy:
                continue
            seen.add((pixel, i))
            priority = min(round(self.priority_max * float(score[j]), 4),
                           round(previous - 1e-4, 4))
            if priority <= 0:
                break
            previous = priority
            out.append(Candidate(
                request_id=request_id, target=f"hp{grid.nside}-{pixel:0{width}d}",
                ra_deg=round(float(ra[field]), 6), dec_deg=round(float(dec[field]), 6),
                filter=plan.filters[i], exposure_s=float(exposure[i]), program=PROGRAM,
                kind="survey", priority=priority, proposed_by="survey",
                v_mag=self.nominal_depth_mag))
            if len(out) == self.max_candidates:
                break
        return out
