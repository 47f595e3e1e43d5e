"""Each telescope's camera: gain, noise, bias, saturation, bleeding and its flat field.

Camera constants are drawn once per telescope name (never from the run seed),
so a camera keeps its character from night to night. The flat field combines
vignetting (with the optical axis slightly off centre), pixel response
non-uniformity and a few dust donuts whose shadows drift slowly over days as
dust settles; it is cached per (site, telescope, shape, day) and normalised to
a median of 1, so the sky level of a frame equals the nominal sky.
:func:`bleed` spills charge above the full well along columns and
:func:`add_noise` adds photon and read noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from control_center.network import Telescope
from simulator._seeding import stream
from simulator.outcome import DARK_E_PER_S, READ_NOISE_E

__all__ = ["Camera", "add_noise", "bleed", "camera_for", "flat_field", "smooth_field"]

ADC_MAX = 65535.0
_DONUT_PERIOD_DAYS = 45.0


@dataclass(frozen=True)
class Camera:
    """A CCD camera as the frame renderer uses it.

    Attributes
    ----------
    name : str
        Instrument name (``INSTRUME``).
    gain_e_per_adu, read_noise_e : float
    bias_adu : float
        Mean bias pedestal.
    saturate_adu : float
        Highest value the ADC reports.
    full_well_e : float
        Charge a pixel holds before it bleeds along its column.
    dark_e_per_s : float
    temperature_c : float
        Set point of the cooler (``CCD-TEMP`` scatters around it).
    vignetting : float
        Fractional light loss in the frame's corners.
    """

    name: str
    gain_e_per_adu: float
    read_noise_e: float
    bias_adu: float
    saturate_adu: float
    full_well_e: float
    dark_e_per_s: float
    temperature_c: float
    vignetting: float


@lru_cache(maxsize=64)
def camera_for(telescope: Telescope) -> Camera:
    """The camera of ``telescope`` (deterministic from its name).

    Examples
    --------
    >>> from control_center.network import load_network
    >>> scope = load_network().site("la-palma").telescopes[0]
    >>> camera_for(scope) == camera_for(scope)
    True
    """
    u = stream(0, "camera", telescope.name).random(5)
    gain = round(1.0 + 1.5 * float(u[0]), 2)
    full_well = min(1.2e5, gain * (ADC_MAX - 2000.0))
    return Camera(
        name=f"SimCam-{telescope.name}", gain_e_per_adu=gain, read_noise_e=READ_NOISE_E,
        bias_adu=float(round(300.0 + 900.0 * float(u[1]))), saturate_adu=ADC_MAX,
        full_well_e=full_well, dark_e_per_s=DARK_E_PER_S,
        temperature_c=float(round(-30.0 + 15.0 * float(u[2]))),
        vignetting=0.03 + 0.09 * float(u[3]))


def smooth_field(shape: tuple[int, int], n_coarse: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random field (float32, roughly zero mean, unit scale) of ``shape``.

    Gaussian radial-basis interpolation of an ``n_coarse x n_coarse`` grid of
    normal deviates: two small matrix products, no full-frame filtering.
    """
    h, w = shape
    coarse = rng.standard_normal((n_coarse, n_coarse)).astype(np.float32)

    def weights(n: int) -> np.ndarray:
        centres = (np.arange(n_coarse) + 0.5) / n_coarse
        pos = (np.arange(n) + 0.5) / n
        wt = np.exp(-0.5 * ((pos[:, None] - centres[None, :]) * n_coarse / 0.8) ** 2)
        return (wt / np.sqrt((wt**2).sum(axis=1, keepdims=True))).astype(np.float32)

    return weights(h) @ coarse @ weights(w).T


def flat_field(site_name: str, telescope: Telescope, shape: tuple[int, int],
               mjd: float) -> np.ndarray:
    """The relative response of each pixel (float32, median 1; read-only, cached per day).

    Parameters
    ----------
    site_name : str
        Seeds the dust (a site's dust is its own).
    telescope : Telescope
    shape : tuple of int
    mjd : float
        Modified Julian date; dust shadows move a little each day.
    """
    return _flat(site_name, telescope, tuple(shape), math.floor(mjd))


@lru_cache(maxsize=8)
def _flat(site_name: str, telescope: Telescope, shape: tuple[int, int], day: int) -> np.ndarray:
    h, w = shape
    cam = camera_for(telescope)
    rng = stream(0, "flat", site_name, telescope.name)
    cx, cy = (float(v) for v in (0.5 + 0.04 * rng.standard_normal(2)) * np.array([w, h]))
    rc2 = (w / 2.0) ** 2 + (h / 2.0) ** 2
    yy = ((np.arange(h, dtype=np.float32) - cy) ** 2)[:, None]
    xx = ((np.arange(w, dtype=np.float32) - cx) ** 2)[None, :]
    r2 = (xx + yy) / np.float32(rc2)
    flat = 1.0 - np.float32(cam.vignetting) * r2 * (0.8 + 0.2 * r2)
    flat *= 1.0 + np.float32(0.004) * smooth_field(shape, 6, rng)
    scale = min(h, w) / 1024.0
    phase = 2.0 * math.pi * day / _DONUT_PERIOD_DAYS
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h
        radius = rng.uniform(6.0, 22.0) * max(scale, 0.25)
        depth = rng.uniform(0.01, 0.04)
        drift = rng.uniform(2.0, 8.0) * max(scale, 0.25)
        phi = rng.uniform(0.0, 2.0 * math.pi)
        x0 += drift * math.cos(phase + phi)
        y0 += drift * math.sin(phase + phi)
        _add_donut(flat, x0, y0, radius, depth)
    prnu = stream(0, "prnu", telescope.name, str(shape)).standard_normal(shape, np.float32)
    flat *= 1.0 + np.float32(0.003) * prnu
    flat /= np.float32(np.median(flat[:: max(h // 128, 1), :: max(w // 128, 1)]))
    flat = flat.astype(np.float32, copy=False)
    flat.flags.writeable = False
    return flat


def _add_donut(flat: np.ndarray, x0: float, y0: float, radius: float, depth: float) -> None:
    h, w = flat.shape
    r_out = radius * 1.3
    x_lo, x_hi = max(int(x0 - r_out), 0), min(int(x0 + r_out) + 2, w)
    y_lo, y_hi = max(int(y0 - r_out), 0), min(int(y0 + r_out) + 2, h)
    if x_lo >= x_hi or y_lo >= y_hi:
        return
    yy, xx = np.mgrid[y_lo:y_hi, x_lo:x_hi].astype(np.float32)
    r = np.hypot(xx - x0, yy - y0) / radius
    ring = np.exp(-0.5 * ((r - 0.75) / 0.15) ** 2) + 0.5 * (r < 0.75) * np.exp(-r)
    flat[y_lo:y_hi, x_lo:x_hi] *= 1.0 - np.float32(depth) * ring.astype(np.float32)


def bleed(signal: np.ndarray, full_well: float) -> np.ndarray:
    """Spill charge above the full well along columns; returns the saturated-pixel mask.

    Each vertical run of over-full pixels spreads its excess charge equally up
    and down its column.
    """
    over = signal > full_well
    if not over.any():
        return over
    h = signal.shape[0]
    cols, rows = np.nonzero(over.T)               # column-major: runs are contiguous
    starts = np.flatnonzero(np.r_[True, (np.diff(cols) != 0) | (np.diff(rows) != 1)])
    ends = np.r_[starts[1:], len(rows)] - 1
    excess = np.add.reduceat(signal[rows, cols] - np.float32(full_well), starts)
    spill = np.ceil(excess / (2.0 * full_well)).astype(int)
    for c, r0, r1, s in zip(cols[starts], rows[starts], rows[ends], spill, strict=True):
        signal[max(r0 - s, 0):min(r1 + s + 1, h), c] = full_well
    return signal >= full_well


def add_noise(signal: np.ndarray, read_noise_e: float, rng: np.random.Generator) -> np.ndarray:
    """Photon and read noise (Gaussian approximation above ~30 e-, exact Poisson below)."""
    z = rng.standard_normal(signal.shape, dtype=np.float32)
    if float(np.percentile(signal[::16, ::16], 25)) >= 30.0:
        np.maximum(signal, 0.0, out=signal)
        signal += np.sqrt(signal + np.float32(read_noise_e**2)) * z
        return signal
    counts = rng.poisson(np.maximum(signal, 0.0)).astype(np.float32)
    return counts + np.float32(read_noise_e) * z
