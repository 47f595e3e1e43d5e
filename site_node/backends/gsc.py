"""A ``gsc``-compatible star server: INDI's CCD simulator draws our simulated sky.

INDI's CCD simulator (``indi_simulator_ccd``) finds the stars of a frame by
running a program named ``gsc`` on its ``PATH`` (the Guide Star Catalog
lookup tool) and parsing what it prints. The call it makes, for the frame's
centre in J2000, is::

    gsc -c RA_DEG DEC_DEG -r RADIUS_ARCMIN -m 0 MAG_LIMIT -n 3000

and it reads each output line with the C format
``"%10s %f %f %f %f %f %d %d %4s %2s %f %d"``: id, RA (deg), Dec (deg),
position error, magnitude, magnitude error, band, class, plate, origin,
distance from the centre (arcmin) and direction (deg). Lines that do not
yield all 12 fields are skipped, so a header would be harmless; we print none.

This module answers those calls from :func:`simulator.starfield.stars_in_field`
so that frames taken through INDI show the same stars as our simulated
backend and the edge pipeline's reference catalogue. ``scripts/gsc`` runs
:func:`main`.

Examples
--------
>>> args = parse_args(["-c", "150.000000", "+2.200000", "-r", "6.0", "-m", "0", "15.00",
...                    "-n", "3000"])
>>> args.ra_deg, args.dec_deg, args.radius_arcmin, args.mag_max, args.max_stars
(150.0, 2.2, 6.0, 15.0, 3000)
>>> line = format_line(1, 150.01, 2.21, 12.345, 0.8, 45)
>>> len(line.split())
12
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["GscQuery", "format_line", "main", "parse_args", "star_lines"]

BAND_ENV = "OPENASTRO_GSC_BAND"
"""Environment variable naming the filter whose magnitudes are served (default ``V``)."""
_MAX_RADIUS_DEG = 10.0
"""The star field answers cones up to this radius."""


@dataclass(frozen=True)
class GscQuery:
    """One ``gsc`` call: a cone, a magnitude range and a maximum number of stars."""

    ra_deg: float
    dec_deg: float
    radius_arcmin: float
    mag_min: float = -30.0
    mag_max: float = 21.0
    max_stars: int = 3000
    band: str = "V"


def _angle(text: str, *, hours: bool) -> float:
    """Decimal degrees, or sexagesimal ``hh:mm:ss`` (RA) / ``dd:mm:ss`` (Dec)."""
    if ":" not in text:
        return float(text)
    sign = -1.0 if text.strip().startswith("-") else 1.0
    parts = [abs(float(p)) for p in text.strip().lstrip("+-").split(":")]
    value = sum(p / 60.0**k for k, p in enumerate(parts))
    return sign * value * (15.0 if hours else 1.0)


def parse_args(argv: Sequence[str]) -> GscQuery:
    """Read a ``gsc`` command line (``-c RA DEC -r R -m MIN MAX -n N``).

    Raises
    ------
    SystemExit
        On a malformed command line (argparse's usage message on stderr).
    """
    p = argparse.ArgumentParser(prog="gsc", description="gsc-compatible star lookup "
                                "(OpenAstro's simulated sky)")
    p.add_argument("-c", nargs=2, metavar=("RA", "DEC"),
                   help="field centre, J2000: degrees or hh:mm:ss / dd:mm:ss")
    p.add_argument("-r", type=float, default=10.0, metavar="ARCMIN", help="cone radius")
    p.add_argument("-m", nargs=2, type=float, default=(-30.0, 21.0), metavar=("MIN", "MAX"),
                   help="magnitude range")
    p.add_argument("-n", type=int, default=3000, metavar="N", help="at most N stars")
    p.add_argument("--band", default=os.environ.get(BAND_ENV, "V"),
                   help=f"filter of the magnitudes (default ${BAND_ENV} or V)")
    args = list(argv)
    if "-c" in args:  # "-53:00:00" is a value here, though argparse would take it for an option
        i = args.index("-c")
        centre, args = args[i + 1:i + 3], args[:i] + args[i + 3:]
    else:
        centre = []
    ns = p.parse_args(args)
    if len(centre) != 2:
        p.error("the centre is required: -c RA DEC")
    try:
        ra, dec = _angle(centre[0], hours=True), _angle(centre[1], hours=False)
    except ValueError:
        p.error(f"bad centre: {' '.join(centre)}")
    if not (math.isfinite(ra) and -90.0 <= dec <= 90.0 and ns.r > 0):
        p.error(f"centre or radius out of range: {ra} {dec} r={ns.r}")
    return GscQuery(ra % 360.0, dec, ns.r, ns.m[0], ns.m[1], max(ns.n, 0), ns.band)


def _separation(ra0: float, dec0: float, ra, dec):
    """Angular distance (deg) and position angle (deg, east of north) from the centre."""
    import numpy as np

    r0, d0 = math.radians(ra0), math.radians(dec0)
    r, d = np.radians(ra), np.radians(dec)
    sin_dd = np.sin((d - d0) / 2.0) ** 2
    sin_dr = np.sin((r - r0) / 2.0) ** 2
    dist = 2.0 * np.arcsin(np.sqrt(sin_dd + np.cos(d) * math.cos(d0) * sin_dr))
    pa = np.arctan2(np.sin(r - r0) * np.cos(d),
                    math.cos(d0) * np.sin(d) - math.sin(d0) * np.cos(d) * np.cos(r - r0))
    return np.degrees(dist), np.degrees(pa) % 360.0


def format_line(index: int, ra_deg: float, dec_deg: float, mag: float, dist_arcmin: float,
                direction_deg: int) -> str:
    """One output line in the layout INDI's CCD simulator parses (12 fields).

    The id is at most 10 characters (``%10s``), the plate 4 and the origin 2.
    """
    return (f"OA{index % 100_000_000:08d} {ra_deg:11.6f} {dec_deg:+10.6f}  0.2 {mag:6.2f} 0.20"
            f" 0 0 OAST 00 {dist_arcmin:8.3f} {int(direction_deg) % 360:3d}")


def star_lines(query: GscQuery) -> Iterator[str]:
    """The stars of ``query`` from the simulated sky, brightest first, as ``gsc`` lines."""
    import numpy as np

    from simulator.starfield import FAINT_LIMIT, stars_in_field

    radius = min(query.radius_arcmin / 60.0, _MAX_RADIUS_DEG)
    mag_limit = min(query.mag_max, FAINT_LIMIT)
    if query.max_stars == 0 or mag_limit < query.mag_min:
        return
    # V deeper than the limit: red stars are brighter in r, i, z than in V.
    depth = mag_limit if query.band == "V" else min(mag_limit + 1.5, FAINT_LIMIT)
    stars = stars_in_field(query.ra_deg, query.dec_deg, radius, mag_limit=depth)
    mag = stars.mag_in(query.band) if query.band != "V" else stars.mag["V"]
    keep = (mag >= query.mag_min) & (mag <= query.mag_max)
    order = np.argsort(mag[keep], kind="stable")[: query.max_stars]
    ra, dec, mag = stars.ra_deg[keep][order], stars.dec_deg[keep][order], mag[keep][order]
    dist, pa = _separation(query.ra_deg, query.dec_deg, ra, dec)
    for k in range(len(order)):
        yield format_line(k + 1, float(ra[k]), float(dec[k]), float(mag[k]),
                          float(dist[k]) * 60.0, round(float(pa[k])))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scripts/gsc``: print the stars of one cone; 0 on success."""
    query = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        lines = list(star_lines(query))
    except ValueError as exc:  # unknown band, cone out of range
        print(f"gsc: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    out.write("\n".join(lines) + ("\n" if lines else ""))
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
