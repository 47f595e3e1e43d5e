"""ICRS (J2000) <-> INDI's "JNow" and the small spherical geometry the backend needs.

INDI mounts take and report ``EQUATORIAL_EOD_COORD``: apparent geocentric
right ascension (hours, from the true equinox of date) and declination
(degrees). Our commands are ICRS. The conversion uses ERFA (shipped with
astropy, nothing downloaded): ``eraAtci13`` to CIRS, then the equation of
the origins to move the RA origin from the CIO to the equinox. This is what
INDI's own ``J2000toObserved`` does (precession, nutation, aberration) to
well under an arcsecond.
"""

from __future__ import annotations

import math
from datetime import datetime

__all__ = ["icrs_to_jnow", "jnow_to_icrs", "separation_deg"]

_UNIX_EPOCH_JD = 2440587.5
_TT_MINUS_UTC_S = 69.184
"""TAI-UTC (37 s since 2017) + 32.184 s; a leap second would change it by 1 s (negligible here)."""


def _tt_jd(when: datetime) -> tuple[float, float]:
    """Two-part TT Julian date of an aware datetime (TDB ~ TT to 2 ms)."""
    seconds = when.timestamp() + _TT_MINUS_UTC_S
    return _UNIX_EPOCH_JD, seconds / 86400.0


def icrs_to_jnow(ra_deg: float, dec_deg: float, when: datetime) -> tuple[float, float]:
    """Apparent (JNow) RA and Dec in degrees of an ICRS position at ``when``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> ra, dec = icrs_to_jnow(10.0, 20.0, datetime(2026, 1, 1, tzinfo=UTC))
    >>> round(ra - 10.0, 1), round(dec - 20.0, 1)   # 26 years of precession
    (0.3, 0.1)
    """
    import erfa

    d1, d2 = _tt_jd(when)
    ri, di, eo = erfa.atci13(math.radians(ra_deg), math.radians(dec_deg), 0.0, 0.0, 0.0, 0.0,
                             d1, d2)
    return math.degrees(erfa.anp(ri - eo)), math.degrees(di)


def jnow_to_icrs(ra_deg: float, dec_deg: float, when: datetime) -> tuple[float, float]:
    """ICRS RA and Dec in degrees of an apparent (JNow) position at ``when``."""
    import erfa

    d1, d2 = _tt_jd(when)
    eo = erfa.eo06a(d1, d2)
    rc, dc, _ = erfa.atic13(erfa.anp(math.radians(ra_deg) + eo), math.radians(dec_deg), d1, d2)
    return math.degrees(erfa.anp(rc)), math.degrees(dc)


def separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance (deg) between two positions given in degrees."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = (math.sin((d2 - d1) / 2) ** 2
         + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2)
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))
