"""Passbands: the per-filter numbers the sky and outcome models share.

Values are typical of a good mountain site and a modern CCD camera; they are
meant to be plausible, not to reproduce any one instrument (a 1 m telescope
reaches r ~ 22.7 at SNR 5 in 300 s in 1" seeing, about what SDSS-class optics
and detectors achieve). Sloan-like bands
(``u g r i z y``) are treated as AB magnitudes, Johnson-Cousins bands
(``U B V R I``) as Vega magnitudes; the simulator does not distinguish the two
systems (the differences, below 0.1 mag outside ``u``/``U``, are irrelevant to
scheduling).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BANDS", "Band", "band"]

_PHOTONS_PER_JY = 1.51e7
"""Photons s^-1 m^-2 per jansky per unit fractional bandwidth (dlambda/lambda)."""
_AB_ZERO_JY = 3631.0


@dataclass(frozen=True)
class Band:
    """One filter's properties.

    Attributes
    ----------
    name : str
    wavelength_nm : float
        Effective wavelength.
    width : float
        Fractional bandwidth (FWHM / wavelength).
    extinction : float
        Atmospheric extinction coefficient (mag per airmass) at ~2,400 m.
    dark_sky_offset : float
        Dark-sky surface brightness minus the V-band one (mag); negative is brighter.
    moonlight_offset : float
        Colour of scattered moonlight and twilight: band minus V (mag).
    throughput : float
        Telescope, camera and filter throughput including detector QE (0..1).
    """

    name: str
    wavelength_nm: float
    width: float
    extinction: float
    dark_sky_offset: float
    moonlight_offset: float
    throughput: float

    @property
    def photons_mag0(self) -> float:
        """Detected photo-electrons s^-1 m^-2 from a magnitude-0 source above the air."""
        return _PHOTONS_PER_JY * _AB_ZERO_JY * self.width * self.throughput


def _b(name: str, wl: float, width: float, k: float, dark: float, moon: float, thr: float) -> Band:
    return Band(name, wl, width, k, dark, moon, thr)


BANDS: dict[str, Band] = {b.name: b for b in (
    _b("u", 355.0, 0.17, 0.48, 1.25, 0.75, 0.12),
    _b("g", 477.0, 0.29, 0.17, 0.55, 0.00, 0.35),
    _b("r", 623.0, 0.22, 0.09, -0.50, 0.10, 0.40),
    _b("i", 763.0, 0.20, 0.05, -1.20, 0.40, 0.32),
    _b("z", 905.0, 0.15, 0.04, -2.10, 0.75, 0.16),
    _b("y", 1000.0, 0.10, 0.04, -3.10, 0.95, 0.06),
    _b("U", 365.0, 0.18, 0.45, 0.70, 0.70, 0.12),
    _b("B", 440.0, 0.22, 0.22, 1.00, 0.25, 0.28),
    _b("V", 550.0, 0.16, 0.13, 0.00, 0.00, 0.36),
    _b("R", 660.0, 0.21, 0.08, -0.70, -0.10, 0.40),
    _b("I", 805.0, 0.19, 0.04, -1.90, -0.20, 0.28),
    _b("L", 560.0, 0.50, 0.12, -0.50, 0.00, 0.40),
    _b("clear", 600.0, 0.65, 0.12, -0.80, 0.00, 0.40),
    _b("Ha", 656.0, 0.01, 0.08, -0.60, 0.10, 0.35),
    _b("OIII", 501.0, 0.01, 0.15, 0.30, 0.00, 0.35),
    _b("SII", 672.0, 0.01, 0.08, -0.65, 0.10, 0.35),
)}
"""Known filters by name (case-sensitive: ``r`` is Sloan, ``R`` Cousins)."""


def band(name: str) -> Band:
    """The :class:`Band` named ``name``.

    Raises
    ------
    ValueError
        If the filter is unknown; the message lists the known ones.
    """
    try:
        return BANDS[name]
    except KeyError:
        raise ValueError(
            f"unknown filter {name!r}; known filters: {', '.join(BANDS)}") from None
