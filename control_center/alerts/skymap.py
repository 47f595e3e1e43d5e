"""HEALPix localisations: read from FITS (flat NESTED/RING or multi-order UNIQ) or made
from an error circle, and sampled for tiling.

A :class:`Localisation` holds the pixels that carry probability as multi-order
NESTED pixels (``order``, ``ipix``) with the probability of each pixel; a flat
map is the special case of one order. Nothing here downloads anything.
"""

from __future__ import annotations

import gzip
import io
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Localisation", "SkymapError", "circle_localisation", "read_skymap"]

MAX_SKYMAP_BYTES = 256 * 1024 * 1024
"""Largest (decompressed) skymap accepted: a flat nside-2048 float32 map is 200 MB."""
MAX_ORDER = 16
_CONE_ORDER = 6
_UNSEEN = -1.6375e30
"""healpy's marker of a pixel without data (read as zero probability)."""


class SkymapError(ValueError):
    """A skymap cannot be decoded; the message says why."""


@dataclass(frozen=True)
class Localisation:
    """Where an alert's source is, as a HEALPix probability map.

    Attributes
    ----------
    order, ipix : arrays of int
        Each pixel's HEALPix order (nside = 2**order) and NESTED index.
    prob : array of float
        Probability contained in each pixel; sums to 1.
    frame : str
        ``"icrs"`` or ``"galactic"``: the frame of the pixelisation.
    description : str
        What was read, e.g. ``"flat RING nside 64"``.
    """

    order: np.ndarray
    ipix: np.ndarray
    prob: np.ndarray
    frame: str = "icrs"
    description: str = ""

    @property
    def area_sr(self) -> np.ndarray:
        """Solid angle of each pixel (sr)."""
        return 4.0 * math.pi / (12.0 * 4.0 ** self.order.astype(float))

    @property
    def density(self) -> np.ndarray:
        """Probability per steradian of each pixel."""
        return self.prob / self.area_sr

    def credible(self, level: float = 0.9) -> np.ndarray:
        """Mask of the smallest set of pixels (densest first) holding ``level`` of the
        probability."""
        order = np.argsort(-self.density, kind="stable")
        cumulative = np.cumsum(self.prob[order])
        n = int(np.searchsorted(cumulative, level * cumulative[-1]) + 1)
        mask = np.zeros(self.prob.size, dtype=bool)
        mask[order[:min(n, order.size)]] = True
        return mask

    def area_deg2(self, level: float = 0.9) -> float:
        """Area of the ``level`` credible region (deg^2)."""
        return float(self.area_sr[self.credible(level)].sum() * (180.0 / math.pi) ** 2)

    def points(self, mask: np.ndarray, spacing_deg: float, max_points: int = 2_000_000
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sample the pixels in ``mask`` at least every ``spacing_deg``.

        Each pixel coarser than the spacing is split into its NESTED children at
        the order whose resolution is finer than ``spacing_deg`` (coarser when
        that would make more than ``max_points`` samples); each child carries an
        equal share of the pixel's probability.

        Returns
        -------
        ra_deg, dec_deg, prob, pixel : arrays
            ICRS positions of the samples, the probability each carries, and the
            index (into this map's pixels) of the pixel each comes from.
        """
        from astropy_healpix import healpix_to_lonlat

        index = np.flatnonzero(mask)
        order, ipix, prob = self.order[index], self.ipix[index], self.prob[index]
        target = _order_for_resolution(spacing_deg)
        while target > 0 and int((4 ** np.clip(target - order, 0, None)).sum()) > max_points:
            target -= 1
        ras, decs, probs, sources = [], [], [], []
        for level in np.unique(order):
            sel = order == level
            depth = max(0, int(target) - int(level))
            children = 4 ** depth
            idx = (ipix[sel][:, None] * children + np.arange(children)[None, :]).ravel()
            lon, lat = healpix_to_lonlat(idx, 2 ** (int(level) + depth), order="nested")
            ras.append(lon.deg)
            decs.append(lat.deg)
            probs.append(np.repeat(prob[sel] / children, children))
            sources.append(np.repeat(index[sel], children))
        if not ras:
            empty = np.empty(0)
            return empty, empty, empty, np.empty(0, dtype=np.int64)
        ra, dec = np.concatenate(ras), np.concatenate(decs)
        if self.frame == "galactic":
            ra, dec = _galactic_to_icrs(ra, dec)
        return ra % 360.0, dec, np.concatenate(probs), np.concatenate(sources)


def _order_for_resolution(spacing_deg: float) -> int:
    """Smallest order whose pixels (sqrt of area) are at most ``spacing_deg``."""
    for order in range(MAX_ORDER + 1):
        if math.degrees(math.sqrt(4 * math.pi / (12 * 4 ** order))) <= spacing_deg:
            return order
    return MAX_ORDER


def _galactic_to_icrs(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    icrs = SkyCoord(l=lon * u.deg, b=lat * u.deg, frame="galactic").icrs
    return icrs.ra.deg, icrs.dec.deg


# -- reading FITS -----------------------------------------------------------------------


def read_skymap(data: bytes, source: str = "skymap") -> Localisation:
    """Read a HEALPix skymap from FITS bytes (optionally gzip-compressed).

    Understands flat maps (``ORDERING`` NESTED or RING, implicit or explicit
    ``PIXEL`` index; the ``PROB`` column, else the first) and multi-order maps
    (``UNIQ`` with ``PROBDENSITY`` per steradian, or ``PROB`` per pixel).
    ``COORDSYS`` C (or absent) and G are supported.

    Raises
    ------
    SkymapError
        Naming the problem (``source`` is used in the message).
    """
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                data = stream.read(MAX_SKYMAP_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise SkymapError(f"{source}: corrupt gzip data ({exc})") from None
    if len(data) > MAX_SKYMAP_BYTES:
        raise SkymapError(f"{source}: larger than {MAX_SKYMAP_BYTES // 2**20} MB")
    if not data.startswith(b"SIMPLE  ="):
        raise SkymapError(f"{source}: not a FITS file")
    from astropy.io import fits

    try:
        with fits.open(io.BytesIO(data), memmap=False) as hdus:
            table = next((h for h in hdus if isinstance(h, fits.BinTableHDU)), None)
            if table is None:
                raise SkymapError(f"{source}: no binary table (HEALPix maps are tables)")
            header = table.header
            columns = {c.name.upper(): c for c in table.columns}
            arrays = {name: np.asarray(table.data[c.name]) for name, c in columns.items()}
    except SkymapError:
        raise
    except Exception as exc:  # noqa: BLE001 - astropy raises many types on bad FITS
        raise SkymapError(f"{source}: unreadable FITS ({type(exc).__name__}: {exc})") from None
    frame = _frame(header, source)
    if "UNIQ" in arrays:
        return _multi_order(arrays, columns, frame, source)
    return _flat(header, arrays, frame, source)


def _frame(header, source: str) -> str:
    system = str(header.get("COORDSYS", "C")).strip().upper()
    if system in ("C", "CELESTIAL", "EQUATORIAL", "ICRS"):
        return "icrs"
    if system in ("G", "GALACTIC"):
        return "galactic"
    raise SkymapError(f"{source}: COORDSYS {system!r} is not supported (C or G)")


def _clean(values: np.ndarray, what: str, source: str) -> np.ndarray:
    values = np.asarray(values, dtype=float).ravel()
    values = np.where(np.isnan(values) | (values <= _UNSEEN * 0.999), 0.0, values)
    if not np.all(np.isfinite(values)):
        raise SkymapError(f"{source}: {what} holds infinite values")
    if np.any(values < 0):
        raise SkymapError(f"{source}: {what} holds negative values (min {values.min():.3g})")
    return values


def _multi_order(arrays: dict, columns: dict, frame: str, source: str) -> Localisation:
    from astropy_healpix import uniq_to_level_ipix

    uniq = np.asarray(arrays["UNIQ"]).ravel().astype(np.int64)
    if uniq.size == 0 or np.any(uniq < 4):
        raise SkymapError(f"{source}: UNIQ holds invalid pixel ids")
    order, ipix = uniq_to_level_ipix(uniq)
    order, ipix = np.asarray(order, dtype=np.int64), np.asarray(ipix, dtype=np.int64)
    if order.max() > 29:
        raise SkymapError(f"{source}: UNIQ order {int(order.max())} is beyond 29")
    area = 4.0 * math.pi / (12.0 * 4.0 ** order.astype(float))
    if "PROBDENSITY" in arrays:
        density = _clean(arrays["PROBDENSITY"], "PROBDENSITY", source)
        unit = (columns["PROBDENSITY"].unit or "sr-1").strip().lower()
        if unit in ("deg-2", "deg**-2", "1/deg2", "deg^-2"):
            density = density * (180.0 / math.pi) ** 2
        prob = density * area
    elif "PROB" in arrays:
        prob = _clean(arrays["PROB"], "PROB", source)
    else:
        raise SkymapError(f"{source}: multi-order map without a PROBDENSITY or PROB column")
    if prob.size != uniq.size:
        raise SkymapError(f"{source}: UNIQ and probability columns differ in length")
    return _normalised(order, ipix, prob, frame, f"multi-order, orders "
                       f"{int(order.min())}-{int(order.max())}, {uniq.size} pixels", source)


def _flat(header, arrays: dict, frame: str, source: str) -> Localisation:
    from astropy_healpix import npix_to_nside
    from astropy_healpix.core import ring_to_nested

    ordering = str(header.get("ORDERING", "")).strip().upper()
    if ordering not in ("NESTED", "RING"):
        raise SkymapError(f"{source}: ORDERING is {ordering or 'missing'!r}; expected NESTED, "
                          "RING or NUNIQ")
    names = [n for n in arrays if n != "PIXEL"]
    if not names:
        raise SkymapError(f"{source}: no probability column")
    name = "PROB" if "PROB" in arrays else names[0]
    values = _clean(arrays[name], name, source)
    explicit = str(header.get("INDXSCHM", "IMPLICIT")).strip().upper() == "EXPLICIT"
    if explicit:
        if "PIXEL" not in arrays:
            raise SkymapError(f"{source}: INDXSCHM EXPLICIT without a PIXEL column")
        pixels = np.asarray(arrays["PIXEL"]).ravel().astype(np.int64)
        nside = _header_int(header, "NSIDE", source)
        if pixels.size != values.size:
            raise SkymapError(f"{source}: PIXEL and {name} differ in length")
    else:
        try:
            nside = int(npix_to_nside(values.size))
        except ValueError:
            raise SkymapError(f"{source}: {values.size} pixels is not a HEALPix map "
                              "(12 nside^2)") from None
        declared = _header_int(header, "NSIDE", source) if "NSIDE" in header else None
        if declared is not None and declared != nside:
            raise SkymapError(f"{source}: NSIDE {declared} but {values.size} pixels")
        pixels = np.arange(values.size, dtype=np.int64)
    if nside <= 0 or nside & (nside - 1):
        raise SkymapError(f"{source}: NSIDE {nside} is not a power of 2")
    if pixels.size and (pixels.min() < 0 or pixels.max() >= 12 * nside * nside):
        raise SkymapError(f"{source}: PIXEL index outside the nside-{nside} map")
    if ordering == "RING":
        pixels = np.asarray(ring_to_nested(pixels, nside), dtype=np.int64)
    order = np.full(pixels.size, int(math.log2(nside)), dtype=np.int64)
    return _normalised(order, pixels, values, frame, f"flat {ordering} nside {nside}", source)


def _header_int(header, key: str, source: str) -> int:
    try:
        return int(header.get(key, 0))
    except (TypeError, ValueError):
        raise SkymapError(f"{source}: header {key} = {header.get(key)!r} is not an integer") \
            from None


def _normalised(order: np.ndarray, ipix: np.ndarray, prob: np.ndarray, frame: str,
                description: str, source: str) -> Localisation:
    total = float(prob.sum())
    if not total > 0:
        raise SkymapError(f"{source}: the map holds no probability")
    keep = prob > 0
    return Localisation(order[keep], ipix[keep], prob[keep] / total, frame, description)


# -- error circles ----------------------------------------------------------------------


def circle_localisation(ra_deg: float, dec_deg: float, radius_deg: float) -> Localisation:
    """A Gaussian localisation whose 90 % region is the circle of ``radius_deg``.

    Pixels are no larger than an eighth of the radius (tiling splits them further
    when it needs to).
    """
    import astropy.units as u
    from astropy_healpix import HEALPix, healpix_to_lonlat

    sigma = radius_deg / math.sqrt(-2.0 * math.log(0.1))
    if not (math.isfinite(radius_deg) and radius_deg > 0):
        raise SkymapError(f"error circle: radius must be positive, got {radius_deg}")
    order = _order_for_resolution(radius_deg / 8.0)
    reach = min(180.0, 3.5 * sigma)
    # astropy_healpix's cone search slows down steeply with the order: search at a
    # coarse order (padded by a pixel) and keep the fine children inside the cone.
    coarse = min(order, _CONE_ORDER)
    pad = 2.0 * math.degrees(math.sqrt(4 * math.pi / (12 * 4 ** coarse)))
    parents = np.asarray(HEALPix(nside=2 ** coarse, order="nested").cone_search_lonlat(
        ra_deg * u.deg, dec_deg * u.deg, min(180.0, reach + pad) * u.deg), dtype=np.int64)
    children = 4 ** (order - coarse)
    ipix = (parents[:, None] * children + np.arange(children)[None, :]).ravel()
    lon, lat = healpix_to_lonlat(ipix, 2 ** order, order="nested")
    d = _separation_deg(ra_deg, dec_deg, lon.deg, lat.deg)
    inside = d <= reach
    ipix, d = ipix[inside], d[inside]
    prob = np.exp(-0.5 * (d / sigma) ** 2)
    return _normalised(np.full(ipix.size, order, dtype=np.int64), ipix, prob, "icrs",
                       f"error circle r={radius_deg:.3g} deg, order {order}", "error circle")


def _separation_deg(ra0: float, dec0: float, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    ra0, dec0 = math.radians(ra0), math.radians(dec0)
    ra, dec = np.radians(ra), np.radians(dec)
    cos_d = (math.sin(dec0) * np.sin(dec)
             + math.cos(dec0) * np.cos(dec) * np.cos(ra - ra0))
    return np.degrees(np.arccos(np.clip(cos_d, -1.0, 1.0)))
