"""Telescope time: slews, filter changes and readout.

The mount is equatorial: both axes move at once at ``slew_rate_deg_s``, so a
slew lasts as long as the larger of the hour-angle (RA, the short way round) and
declination moves, plus ``settle_s``. The filter wheel turns during the slew, so
the set-up before an exposure is the longer of the two. Readout follows the
exposure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from control_center.network import Telescope

__all__ = [
    "SAME_FIELD_DEG",
    "UNKNOWN_POINTING_SLEW_DEG",
    "expected_duration_s",
    "overhead_s",
    "setup_s",
    "slew_time_s",
]

SAME_FIELD_DEG = 1.0 / 60.0
"""Moves smaller than this (1 arcmin) are dithers: no slew, no settle."""

UNKNOWN_POINTING_SLEW_DEG = 60.0
"""Axis move assumed when the current pointing is unknown (e.g. coming from park)."""


def slew_time_s(telescope: Telescope, from_ra: float | None, from_dec: float | None,
                to_ra: float, to_dec: float) -> float:
    """Seconds to slew from one position to another and settle.

    Parameters
    ----------
    telescope : Telescope
    from_ra, from_dec : float or None
        Current pointing (deg); None when unknown.
    to_ra, to_dec : float
        New pointing (deg).

    Examples
    --------
    >>> from control_center.network import Telescope
    >>> scope = Telescope("t", 1.0, 20, ("r",), slew_rate_deg_s=4.0, readout_s=10, settle_s=8)
    >>> slew_time_s(scope, 10.0, 0.0, 50.0, 20.0)
    18.0
    >>> slew_time_s(scope, 350.0, 0.0, 10.0, 0.0)
    13.0
    """
    if from_ra is None or from_dec is None:
        move = UNKNOWN_POINTING_SLEW_DEG
    else:
        d_ra = abs((to_ra - from_ra + 180.0) % 360.0 - 180.0)
        move = max(d_ra, abs(to_dec - from_dec))
        if move < SAME_FIELD_DEG:
            return 0.0
    return move / telescope.slew_rate_deg_s + float(telescope.settle_s)


def setup_s(telescope: Telescope, from_filter: str | None, to_filter: str,
            from_ra: float | None = None, from_dec: float | None = None,
            to_ra: float = 0.0, to_dec: float = 0.0) -> float:
    """Seconds from the start of a move until the shutter opens.

    The slew and the filter change run in parallel; a change is needed when
    ``from_filter`` differs from ``to_filter`` (or is unknown).
    """
    change = 0.0 if from_filter == to_filter else float(telescope.filter_change_s)
    return max(slew_time_s(telescope, from_ra, from_dec, to_ra, to_dec), change)


def overhead_s(telescope: Telescope, from_filter: str | None, to_filter: str,
               from_ra: float | None = None, from_dec: float | None = None,
               to_ra: float = 0.0, to_dec: float = 0.0) -> float:
    """Non-exposure seconds of one observation: set-up (:func:`setup_s`) plus readout.

    Examples
    --------
    >>> from control_center.network import Telescope
    >>> scope = Telescope("t", 1.0, 20, ("g", "r"), slew_rate_deg_s=4.0, readout_s=12,
    ...                   settle_s=8, filter_change_s=10)
    >>> overhead_s(scope, "g", "r", 0.0, 0.0, 0.0, 0.0)  # filter change only
    22.0
    """
    return (setup_s(telescope, from_filter, to_filter, from_ra, from_dec, to_ra, to_dec)
            + float(telescope.readout_s))


def expected_duration_s(telescope: Telescope, from_ra: float | None, from_dec: float | None,
                        from_filter: str | None, to_ra, to_dec, to_filters: Sequence[str],
                        exposure_s) -> np.ndarray:
    """Seconds from now until the telescope is free again, for many candidates at once.

    Set-up (:func:`setup_s`) plus exposure plus readout, vectorised over the
    candidates' positions, filters and exposures (what
    :meth:`simulator.site.SimulatedSite.observe` will take, exactly).

    Examples
    --------
    >>> from control_center.network import Telescope
    >>> scope = Telescope("t", 1.0, 20, ("g", "r"), slew_rate_deg_s=4.0, readout_s=12,
    ...                   settle_s=8, filter_change_s=10)
    >>> expected_duration_s(scope, 0.0, 0.0, "g", [0.0, 40.0], [0.0, 0.0], ["r", "g"],
    ...                     [60.0, 60.0]).tolist()
    [82.0, 90.0]
    """
    to_ra = np.asarray(to_ra, dtype=float)
    to_dec = np.asarray(to_dec, dtype=float)
    if from_ra is None or from_dec is None:
        slew = np.full(np.broadcast(to_ra, to_dec).shape,
                       UNKNOWN_POINTING_SLEW_DEG / telescope.slew_rate_deg_s + telescope.settle_s)
    else:
        d_ra = np.abs((to_ra - from_ra + 180.0) % 360.0 - 180.0)
        move = np.maximum(d_ra, np.abs(to_dec - from_dec))
        slew = np.where(move < SAME_FIELD_DEG, 0.0,
                        move / telescope.slew_rate_deg_s + telescope.settle_s)
    change = np.array([0.0 if f == from_filter else float(telescope.filter_change_s)
                       for f in to_filters])
    return (np.maximum(slew, change) + np.asarray(exposure_s, dtype=float)
            + float(telescope.readout_s))
