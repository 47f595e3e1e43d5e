"""Synthetic frames with a known truth, for tests and benchmarks of the edge pipeline.

Gaussian stars on a flat sky with Poisson and read noise, a TAN WCS and the
header keys the pipeline reads. The stars come from a small catalogue
(:class:`SyntheticCatalogue`) that can stand in for the sky model in
:func:`~site_node.edge.zeropoint.estimate_zero_point`, so the zero point is
known exactly. This is not the simulator (``simulator.frames``): no site
effects, no artefacts; just what a unit test needs to check a measurement.
:func:`simulated_frame` is the simulator's frame under fixed clear conditions,
for tests and benchmarks that need realism without the weather's luck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SyntheticCatalogue", "simulated_frame", "synthetic_frame"]


@dataclass(frozen=True)
class SyntheticCatalogue:
    """Stars with positions and one magnitude for every filter (``mag_in`` ignores it)."""

    ra_deg: np.ndarray
    dec_deg: np.ndarray
    mag: np.ndarray

    def mag_in(self, filter: str) -> np.ndarray:
        return self.mag

    def __call__(self, ra_deg: float, dec_deg: float, radius_deg: float, *,
                 mag_limit: float = 99.0) -> SyntheticCatalogue:
        """A catalogue query (everything brighter than ``mag_limit``; the cone is ignored)."""
        keep = self.mag <= mag_limit
        return SyntheticCatalogue(self.ra_deg[keep], self.dec_deg[keep], self.mag[keep])


def synthetic_frame(*, shape: tuple[int, int] = (512, 512), n_stars: int = 150,
                    fwhm_px: float = 3.0, sky_adu: float = 1000.0, gain: float = 1.5,
                    read_noise_e: float = 5.0, zero_point: float = 25.0,
                    exptime: float = 30.0, mag_range: tuple[float, float] = (14.0, 21.0),
                    pixel_scale_arcsec: float = 0.5, ra_deg: float = 150.0,
                    dec_deg: float = 2.0, saturate: float = 65535.0,
                    extra: list[tuple[float, float, float]] | None = None,
                    seed: int = 0, star_seed: int | None = None,
                    wcs: bool = True) -> tuple[object, SyntheticCatalogue]:
    """A FITS frame of Gaussian stars and the catalogue it was drawn from.

    Parameters
    ----------
    shape : (ny, nx)
    n_stars : int
        Catalogue stars (uniform in position, magnitudes uniform in ``mag_range``).
    fwhm_px, sky_adu, gain, read_noise_e, exptime, saturate :
        Image and detector (ADU; e-/ADU; e-; s).
    zero_point : float
        Magnitude giving 1 ADU/s.
    pixel_scale_arcsec, ra_deg, dec_deg :
        The TAN WCS (north up, east left).
    extra : list of (x, y, mag), optional
        Sources drawn but not in the catalogue (transients).
    seed : int
        Noise seed.
    star_seed : int, optional
        Star-field seed (default ``seed``): frames of the same field share it.
    wcs : bool
        Write the WCS into the header.

    Returns
    -------
    hdul : astropy.io.fits.HDUList
    catalogue : SyntheticCatalogue
    """
    from astropy.io import fits
    from astropy.wcs import WCS

    ny, nx = shape
    rng_stars = np.random.default_rng(seed if star_seed is None else star_seed)
    rng = np.random.default_rng(10_000 + seed)
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra_deg, dec_deg]
    w.wcs.crpix = [(nx + 1) / 2, (ny + 1) / 2]
    w.wcs.cdelt = [-pixel_scale_arcsec / 3600.0, pixel_scale_arcsec / 3600.0]
    x = rng_stars.uniform(5, nx - 6, n_stars)
    y = rng_stars.uniform(5, ny - 6, n_stars)
    mag = rng_stars.uniform(*mag_range, n_stars)
    ra, dec = w.all_pix2world(x, y, 0)
    xs, ys, ms = list(x), list(y), list(mag)
    for ex, ey, em in extra or []:
        xs.append(ex)
        ys.append(ey)
        ms.append(em)
    counts = exptime * 10.0 ** (-0.4 * (np.asarray(ms) - zero_point))
    image = np.full(shape, sky_adu, np.float64)
    _add_gaussians(image, np.asarray(xs), np.asarray(ys), counts, fwhm_px)
    electrons = rng.poisson(np.maximum(image, 0) * gain).astype(np.float64)
    image = (electrons + rng.normal(0.0, read_noise_e, shape)) / gain
    image = np.minimum(image, saturate).astype(np.float32)
    header = w.to_header() if wcs else fits.Header()
    header.update({"GAIN": gain, "RDNOISE": read_noise_e, "SATURATE": saturate,
                   "EXPTIME": exptime, "FILTER": "r", "OBSERVAT": "synthetic",
                   "OA_ZP": zero_point})
    hdul = fits.HDUList([fits.PrimaryHDU(image, header=header)])
    return hdul, SyntheticCatalogue(np.asarray(ra), np.asarray(dec), mag)


def _add_gaussians(image: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray,
                   fwhm_px: float) -> None:
    """Add pixel-integrated circular Gaussians (total ``flux`` each) in place."""
    from scipy.special import erf

    sigma = fwhm_px / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    r = math.ceil(6 * sigma) + 1
    edges = np.arange(-r, r + 2) - 0.5
    ny, nx = image.shape
    for xi, yi, fi in zip(x, y, flux, strict=True):
        cx, cy = round(xi), round(yi)
        cdf_x = 0.5 * (1 + erf((cx + edges - xi) / (sigma * math.sqrt(2))))
        cdf_y = 0.5 * (1 + erf((cy + edges - yi) / (sigma * math.sqrt(2))))
        stamp = fi * np.outer(np.diff(cdf_y), np.diff(cdf_x))
        y0, x0 = cy - r, cx - r
        sy0, sx0 = max(y0, 0), max(x0, 0)
        sy1, sx1 = min(y0 + stamp.shape[0], ny), min(x0 + stamp.shape[1], nx)
        if sy1 > sy0 and sx1 > sx0:
            image[sy0:sy1, sx0:sx1] += stamp[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]


def simulated_frame(site: str = "la-palma", telescope: str = "palma-1m", *,
                    ra_deg: float = 150.0, dec_deg: float = 2.2, filter: str = "r",
                    exposure_s: float = 60.0, seeing_arcsec: float = 1.0,
                    sky_mag_arcsec2: float = 21.0, seed: int = 0,
                    shape: tuple[int, int] = (1024, 1024), artefacts: tuple[str, ...] = (),
                    transients: int | list = 0) -> object:
    """A ``simulator.frames.render_frame`` frame of the default network, clear sky at 60 deg.

    Returns
    -------
    astropy.io.fits.HDUList
    """
    from datetime import UTC, datetime

    from control_center.network import load_network
    from control_center.plugin_api.types import Conditions
    from simulator.frames import render_frame

    network = load_network()
    where = next(s for s in network.sites if s.name == site)
    scope = next(t for t in where.telescopes if t.name == telescope)
    clear = Conditions(cloud_cover=0.0, humidity=0.2, wind_m_s=3.0, seeing_arcsec=seeing_arcsec,
                       sky_v_mag_arcsec2=sky_mag_arcsec2, open=True)
    return render_frame(where, scope, ra_deg=ra_deg, dec_deg=dec_deg, filter=filter,
                        exposure_s=exposure_s, start=datetime(2026, 3, 21, 23, tzinfo=UTC),
                        conditions=clear, altitude_deg=60.0, sky_mag_arcsec2=sky_mag_arcsec2,
                        seed=seed, shape=shape, artefacts=artefacts, transients=transients,
                        seeing_fwhm_arcsec=seeing_arcsec)
