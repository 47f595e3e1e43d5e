"""Expected value of each feasible candidate from the conditions and the sky.

Then the division of labour (:mod:`plugins.value_formula.labour`): demanding
work that another free site of the network does clearly better is discounted
here, and the discount's uncertainty is added to sigma.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from control_center import astro
from control_center.plugin_api import Candidate, Conditions, DecisionContext, Score, hookimpl
from plugins.value_formula.labour import DivisionOfLabour, labour_factors
from simulator.horizon import HorizonFrame
from simulator.telescope import expected_duration_s

NAME = "value-formula"
REFERENCE_SEEING_ARCSEC = 1.0
DARK_SKY_V = 21.5
FAILURE_DISCOUNT = 0.6
"""Each earlier failure of a request multiplies its expected value by this."""
LABOUR = DivisionOfLabour()
"""When work is routed to a better site (see :class:`DivisionOfLabour`)."""
DISCOUNT_SIGMA = 0.5
"""1-sigma uncertainty of a labour discount, as a fraction of the value it removed: the
better site may still not take the work (its weather, its own queue)."""


def expected_value(priority: np.ndarray, airmass: np.ndarray, exposure_s: np.ndarray,
                   duration_s: np.ndarray, conditions: Conditions) -> tuple[np.ndarray, np.ndarray]:
    """Expected value and its 1-sigma uncertainty, vectorised over candidates.

    Parameters
    ----------
    priority : array
        Programme priority of each candidate (0-10).
    airmass : array
        Airmass at the start of the observation.
    exposure_s, duration_s : array
        Open-shutter time and total time (slew, setup, exposure, readout).
    conditions : Conditions
        The site's conditions now.
    """
    p_success = (1.0 - np.clip(conditions.cloud_cover, 0, 1)) ** 2
    delivered_seeing = conditions.seeing_arcsec * np.asarray(airmass) ** 0.6
    seeing_q = np.clip(REFERENCE_SEEING_ARCSEC / np.maximum(delivered_seeing, 0.3), 0.0, 1.0)
    sky_q = float(np.clip(10 ** (-0.2 * (DARK_SKY_V - conditions.sky_v_mag_arcsec2)), 0.3, 1.0))
    extinction_q = 10 ** (-0.4 * 0.15 * (np.asarray(airmass) - 1.0))
    efficiency = np.asarray(exposure_s) / np.maximum(np.asarray(duration_s), 1.0)
    quality = (0.5 + 0.5 * seeing_q) * sky_q * extinction_q
    value = np.asarray(priority) * p_success * quality * (0.5 + 0.5 * efficiency)
    sigma = value * (0.15 + 0.6 * conditions.cloud_cover) + 0.05
    return value, sigma


@hookimpl
def openastro_score(context: DecisionContext,
                    candidates: Sequence[Candidate]) -> list[Score] | None:
    if context.settings.scorer != NAME:
        return None
    site = context.telescope.site
    scope = context.telescope
    n = len(candidates)
    requests = {r.request_id: r for r in context.queue}
    table = np.array([(c.ra_deg, c.dec_deg, c.exposure_s, c.priority) + _known(requests, c)
                      for c in candidates], dtype=float).reshape(n, 6)
    ra, dec, exposure, priority, failures, v_mag = table.T
    filters = [c.filter for c in candidates]
    alt, _ = HorizonFrame(site.latitude_deg, site.longitude_deg, context.now).altaz_many(
        ra, dec, context.now)
    airmass = np.minimum(astro.airmass(alt), 10.0)
    duration = expected_duration_s(scope.telescope, scope.pointing_ra_deg, scope.pointing_dec_deg,
                                   scope.filter, ra, dec, filters, exposure)
    priority = priority * FAILURE_DISCOUNT ** failures
    value, sigma = expected_value(priority, airmass, exposure, duration, context.conditions)
    factor = labour_factors(context, candidates, ra, dec, airmass, v_mag, LABOUR,
                            filters=filters)
    sigma = np.hypot(sigma, DISCOUNT_SIGMA * value * (1.0 - factor))
    value = value * factor
    return [Score(c.key, v, s) for c, v, s in zip(
        candidates, np.round(value, 4).tolist(), np.round(sigma, 4).tolist(), strict=True)]


def _known(requests: dict, c: Candidate) -> tuple[float, float]:
    """Earlier failures and V magnitude (NaN if unknown) of the candidate's request."""
    request = requests.get(c.request_id)
    if request is None:
        return 0.0, np.nan
    return float(request.failures), np.nan if request.v_mag is None else float(request.v_mag)
