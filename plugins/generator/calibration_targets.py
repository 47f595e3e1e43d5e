"""Where a calibration points: a standard field that is up, the current pointing, the zenith.

* Photometric standards: Landolt's (1992) equatorial Selected Areas SA 92-113
  (:func:`simulator.catalogue.standard_fields`), the one highest in the sky now.
* Darks and focus checks: where the telescope already points (no slew), or
  near the zenith when that is too low or unknown.
* Pointing-model checks: a field at about 60 deg altitude on the meridian side
  away from the pole.
* Twilight flats: near the zenith, in the twilight before dusk or after dawn
  of the site's dark interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from control_center.plugin_api import DecisionContext
from simulator.catalogue import Target, standard_fields
from simulator.horizon import HorizonFrame

__all__ = ["current_or_zenith", "meridian_field", "standard_field", "twilight", "zenith"]

_STANDARDS = standard_fields()


def _frame(context: DecisionContext) -> HorizonFrame:
    site = context.telescope.site
    return HorizonFrame(site.latitude_deg, site.longitude_deg, context.now)


def standard_field(context: DecisionContext, min_margin_deg: float = 10.0) -> Target | None:
    """The Landolt field highest in the sky at ``context.now``; None if none is at least
    ``min_margin_deg`` above the telescope's altitude limit."""
    frame = _frame(context)
    alt, _ = frame.altaz_many([t.ra_deg for t in _STANDARDS], [t.dec_deg for t in _STANDARDS],
                              context.now)
    best = int(alt.argmax())
    if alt[best] < context.telescope.telescope.min_altitude_deg + min_margin_deg:
        return None
    return _STANDARDS[best]


def zenith(context: DecisionContext) -> tuple[float, float]:
    """RA and Dec (deg) of the zenith now (the site's local sidereal time and latitude)."""
    frame = _frame(context)
    return frame.local_sidereal_deg(context.now), context.telescope.site.latitude_deg


def current_or_zenith(context: DecisionContext, min_margin_deg: float = 5.0,
                      ) -> tuple[float, float, str]:
    """The telescope's pointing when it is well up, else the zenith; with a label."""
    state = context.telescope
    if state.pointing_ra_deg is not None and state.pointing_dec_deg is not None:
        alt, _ = _frame(context).altaz(state.pointing_ra_deg, state.pointing_dec_deg,
                                       context.now)
        if alt >= state.telescope.min_altitude_deg + min_margin_deg:
            return state.pointing_ra_deg, state.pointing_dec_deg, "current pointing"
    ra, dec = zenith(context)
    return ra, dec, "zenith"


def meridian_field(context: DecisionContext, zenith_distance_deg: float = 30.0,
                   ) -> tuple[float, float]:
    """A point on the meridian ``zenith_distance_deg`` from the zenith, away from the pole."""
    ra, lat = zenith(context)
    dec = lat - zenith_distance_deg if lat >= 0 else lat + zenith_distance_deg
    return ra, max(-85.0, min(85.0, dec))


def twilight(context: DecisionContext, *, earliest: timedelta = timedelta(minutes=40),
             latest: timedelta = timedelta(minutes=5)) -> str | None:
    """``"dusk"`` or ``"dawn"`` when ``now`` is in the flat-field twilight of the site
    (from ``earliest`` to ``latest`` before a dark interval begins, or from ``latest``
    to ``earliest`` after one ends), else None."""
    now: datetime = context.now
    for begin, end in context.night.dark.get(context.telescope.site.name, ()):
        if begin - earliest <= now <= begin - latest:
            return "dusk"
        if end + latest <= now <= end + earliest:
            return "dawn"
    return None
