"""Anomalies injected into simulated frames, each a named kind.

The frame renderer works in layers (electrons): ``sources`` (astronomical light
through the PSF), ``sky`` (background light), ``additive`` (charge that is not
light: hot columns, cosmic rays). :func:`inject_artefacts` applies the kinds
that act on those layers, in a fixed physical order, and returns what it did
(kind and parameters) for the frame's labels. Three kinds act elsewhere and
are handled by the renderer: ``tracking`` and ``defocus`` change the PSF, and
``new_source`` adds an uncatalogued point source to the truth table;
``bad_readout`` acts on the digitised image (:func:`apply_bad_readout`).

Kinds (:data:`ARTEFACT_KINDS`):

``satellite``    a long straight trail across the frame, sometimes glinting
``aircraft``     paired navigation-light trails with periodic strobe dots
``cosmic_rays``  hundreds of sharp hits and short worms (normal frames have a few)
``tracking``     stars trailed along a line, or doubled by a jump
``hot_columns``  bright columns (some starting mid-frame) and hot pixels
``clouds``       a passing cloud: smooth large-scale dimming and brightened patches
``dew``          dew on the optics: light lost, broad halos around stars
``fog``          thick haze: strong loss, a much brighter sky, low contrast, halos
``defocus``      donut-shaped images of stars
``new_source``   a bright point source absent from the catalogue (a transient)
``bad_readout``  row-to-row offsets, banding, one amplifier's level jumped
``stray_light``  a strong gradient of scattered light from one side
``frost``        ice on the window: mottled absorbing patches toward the edges
``ghost``        an out-of-focus reflection: a large faint ring (or disc) of light
``pickup_noise`` electronic interference: a faint oblique sinusoidal pattern in the charge

``ghost`` and ``pickup_noise`` were added after the anomaly model's inputs were
designed, as kinds it has never been tuned on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.detector import smooth_field
from simulator.psf import PSF, add_point_sources

__all__ = ["ARTEFACT_KINDS", "Layers", "apply_bad_readout", "check_kinds", "halo",
           "inject_artefacts", "tracking_record", "tracking_trail"]

ARTEFACT_KINDS = ("satellite", "aircraft", "cosmic_rays", "tracking", "hot_columns", "clouds",
                  "dew", "fog", "defocus", "new_source", "bad_readout", "stray_light", "frost", "ghost",
                  "pickup_noise")
"""Every kind of anomaly :func:`simulator.frames.render_frame` can inject."""

_LAYER_ORDER = ("frost", "dew", "fog", "clouds", "stray_light", "ghost", "satellite",
                "aircraft", "hot_columns", "cosmic_rays", "pickup_noise")


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """Validate and de-duplicate artefact kinds, keeping their order."""
    if isinstance(kinds, str):
        kinds = [kinds]
    out = tuple(dict.fromkeys(kinds))
    unknown = [k for k in out if k not in ARTEFACT_KINDS]
    if unknown:
        raise ValueError(f"unknown artefact kind(s) {unknown}; known: {', '.join(ARTEFACT_KINDS)}")
    return out


@dataclass
class Layers:
    """The noise-free frame being built, in electrons (float32 arrays).

    Attributes
    ----------
    sources, sky, additive : numpy.ndarray
        Light from astronomical sources, background light, and charge that is
        not light (not flat-fielded).
    psf : PSF
    noise_e : float
        Typical per-pixel noise (sky and read noise), to scale faint artefacts.
    exposure_s : float
    records : list of (str, dict)
        What was injected, appended by :func:`inject_artefacts`.
    """

    sources: np.ndarray
    sky: np.ndarray
    additive: np.ndarray
    psf: PSF
    noise_e: float
    exposure_s: float
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def halo(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """``image`` blurred by a broad Gaussian (done on a 4x binned copy; float32)."""
    from scipy.ndimage import gaussian_filter

    h, w = image.shape
    f = 4 if sigma_px >= 6.0 else 1
    hp, wp = -(-h // f) * f, -(-w // f) * f
    padded = np.zeros((hp, wp), np.float32)
    padded[:h, :w] = image
    small = padded.reshape(hp // f, f, wp // f, f).mean(axis=(1, 3))
    small = gaussian_filter(small, sigma_px / f, mode="constant")
    return np.repeat(np.repeat(small, f, axis=0), f, axis=1)[:h, :w]


def inject_artefacts(layers: Layers, kinds: Sequence[str], rng: np.random.Generator,
                     *, natural_cosmic_rays: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """Apply the layer-level kinds of ``kinds`` to ``layers`` in physical order.

    Parameters
    ----------
    layers : Layers
        Modified in place; its ``records`` gain one entry per kind applied.
    kinds : sequence of str
        Any of :data:`ARTEFACT_KINDS`; the PSF- and readout-level ones are ignored here.
    rng : numpy.random.Generator
        Each kind draws from its own child stream, so adding a kind does not
        change how another one looks.
    natural_cosmic_rays : int
        Hits every exposure gets anyway (not recorded as an anomaly).

    Returns
    -------
    list of (str, dict)
        The records added.
    """
    wanted = set(check_kinds(kinds))
    seeds = {k: s for k, s in zip(ARTEFACT_KINDS, rng.spawn(len(ARTEFACT_KINDS)), strict=True)}
    start = len(layers.records)
    for kind in _LAYER_ORDER:
        if kind in wanted:
            params = _APPLY[kind](layers, seeds[kind])
            layers.records.append((kind, params))
    if natural_cosmic_rays > 0 and "cosmic_rays" not in wanted:
        _deposit_hits(layers.additive, natural_cosmic_rays, seeds["cosmic_rays"])
    return layers.records[start:]


def _throughput(layers: Layers, loss_mag: float) -> None:
    layers.sources *= np.float32(10.0 ** (-0.4 * loss_mag))


def _dew(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    loss = float(rng.uniform(0.4, 1.2))
    frac, sigma = float(rng.uniform(0.4, 0.7)), float(rng.uniform(6.0, 20.0))
    _throughput(layers, loss)
    layers.sources += np.float32(frac) * (halo(layers.sources, sigma) - layers.sources)
    layers.sky *= np.float32(1.0 + 0.2 * frac)
    return {"loss_mag": round(loss, 3), "halo_fraction": round(frac, 3),
            "halo_sigma_px": round(sigma, 1)}


def _fog(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    loss = float(rng.uniform(0.8, 2.0))
    frac, sigma = float(rng.uniform(0.3, 0.5)), float(rng.uniform(15.0, 40.0))
    brighten = float(rng.uniform(2.0, 5.0))
    _throughput(layers, loss)
    layers.sources += np.float32(frac) * (halo(layers.sources, sigma) - layers.sources)
    layers.sky *= np.float32(brighten) * (1.0 + np.float32(0.05) * smooth_field(
        layers.sky.shape, 3, rng))
    return {"loss_mag": round(loss, 3), "sky_factor": round(brighten, 2),
            "halo_fraction": round(frac, 3)}


def _clouds(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    depth = float(rng.uniform(0.5, 0.9))
    n = int(rng.integers(3, 7))
    f = smooth_field(layers.sources.shape, n, rng)
    cover = np.clip(0.55 + 0.35 * f + np.float32(rng.uniform(-0.1, 0.1)), 0.0, 1.0)
    layers.sources *= 1.0 - np.float32(depth) * cover
    bright = float(rng.uniform(0.3, 1.5))
    layers.sky *= 1.0 + np.float32(bright) * cover
    return {"depth": round(depth, 3), "mean_transmission":
            round(float(1.0 - depth * cover.mean()), 3), "sky_brightening": round(bright, 2)}


def _frost(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    h, w = layers.sources.shape
    fine = smooth_field((h, w), max(16, min(h, w) // 16), rng)
    coarse = smooth_field((h, w), 4, rng)
    yy = np.abs(np.linspace(-1, 1, h, dtype=np.float32))[:, None]
    xx = np.abs(np.linspace(-1, 1, w, dtype=np.float32))[None, :]
    edge = np.maximum(xx, yy) ** 2
    ice = np.clip((0.6 * fine + coarse + 2.5 * edge - 1.3) * 0.8, 0.0, 1.0)
    strength = float(rng.uniform(0.3, 0.6))
    layers.sources *= 1.0 - np.float32(strength) * ice
    layers.sources += np.float32(0.2) * (halo(layers.sources, 8.0) - layers.sources)
    layers.sky *= 1.0 - np.float32(0.4 * strength) * ice
    return {"strength": round(strength, 3), "covered_fraction": round(float((ice > 0.5).mean()), 3)}


def _stray_light(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    h, w = layers.sky.shape
    angle = float(rng.uniform(0.0, 2.0 * math.pi))
    amp = float(rng.uniform(1.0, 5.0))
    scale = float(rng.uniform(0.25, 0.6))
    x = (np.arange(w, dtype=np.float32) / w - 0.5)[None, :]
    y = (np.arange(h, dtype=np.float32) / h - 0.5)[:, None]
    along = np.float32(math.cos(angle)) * x + np.float32(math.sin(angle)) * y
    mean_sky = float(layers.sky.mean())
    layers.sky += np.float32(amp * mean_sky) * np.exp((along - 0.5) / np.float32(scale))
    return {"angle_deg": round(math.degrees(angle), 1), "amplitude": round(amp, 2)}


def _line_distance(shape: tuple[int, int], x0: float, y0: float, theta: float) -> np.ndarray:
    h, w = shape
    s, c = np.float32(math.sin(theta)), np.float32(math.cos(theta))
    return ((np.arange(w, dtype=np.float32) - np.float32(x0))[None, :] * s
            - (np.arange(h, dtype=np.float32) - np.float32(y0))[:, None] * c)


def _satellite(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    h, w = layers.sources.shape
    x0, y0 = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    theta = float(rng.uniform(0.0, math.pi))
    sigma = max(layers.psf.fwhm_px / 2.3548, 0.6)
    peak = float(rng.uniform(4.0, 40.0)) * layers.noise_e
    d = _line_distance((h, w), x0, y0, theta)
    trail = np.exp(-0.5 * (d / np.float32(sigma)) ** 2)
    if rng.random() < 0.4:   # a tumbling satellite glints periodically
        along = (np.arange(w, dtype=np.float32)[None, :] * np.float32(math.cos(theta))
                 + np.arange(h, dtype=np.float32)[:, None] * np.float32(math.sin(theta)))
        period = float(rng.uniform(40.0, 200.0))
        trail *= 0.6 + 0.4 * np.cos(np.float32(2.0 * math.pi / period) * along) ** 8
    layers.sources += np.float32(peak) * trail
    return {"x0": round(x0, 1), "y0": round(y0, 1), "angle_deg": round(math.degrees(theta), 2),
            "peak_e": round(peak, 1)}


def _aircraft(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    h, w = layers.sources.shape
    x0, y0 = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    theta = float(rng.uniform(0.0, math.pi))
    sep = float(rng.uniform(6.0, 16.0))
    sigma = max(layers.psf.fwhm_px / 2.3548, 0.8)
    peak = float(rng.uniform(3.0, 15.0)) * layers.noise_e
    d = _line_distance((h, w), x0, y0, theta)
    for off in (-sep / 2.0, sep / 2.0):
        layers.sources += np.float32(peak) * np.exp(-0.5 * ((d - np.float32(off)) / sigma) ** 2)
    period = float(rng.uniform(25.0, 70.0))
    diag = math.hypot(h, w)
    t = np.arange(-diag, diag, period) + rng.uniform(0.0, period)
    xs, ys = x0 + t * math.cos(theta), y0 + t * math.sin(theta)
    keep = (xs > -5) & (xs < w + 5) & (ys > -5) & (ys < h + 5)
    flux = np.full(int(keep.sum()), float(rng.uniform(50.0, 200.0)) * layers.noise_e
                   * layers.psf.fwhm_px**2)
    add_point_sources(layers.sources, xs[keep], ys[keep], flux, layers.psf)
    return {"x0": round(x0, 1), "y0": round(y0, 1), "angle_deg": round(math.degrees(theta), 2),
            "strobe_period_px": round(period, 1), "n_strobes": int(keep.sum())}


def _hot_columns(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    h, w = layers.additive.shape
    n = int(rng.integers(2, 7))
    cols = rng.choice(w, size=n, replace=False)
    for col in cols:
        start = 0 if rng.random() < 0.6 else int(rng.integers(0, h // 2))
        layers.additive[start:, col] += np.float32(rng.uniform(8.0, 60.0) * layers.noise_e)
    n_px = int(rng.integers(20, 80))
    ys, xs = rng.integers(0, h, n_px), rng.integers(0, w, n_px)
    layers.additive[ys, xs] += (rng.uniform(10.0, 200.0, n_px) * layers.noise_e).astype(
        np.float32)
    return {"columns": sorted(int(c) for c in cols), "hot_pixels": n_px}


def _deposit_hits(additive: np.ndarray, n: int, rng: np.random.Generator) -> None:
    h, w = additive.shape
    x, y = rng.uniform(0, w, n), rng.uniform(0, h, n)
    length = rng.geometric(0.45, n) - 1
    theta = rng.uniform(0.0, math.pi, n)
    energy = rng.lognormal(math.log(1500.0), 0.7, n)
    for k in range(n):
        steps = np.arange(length[k] + 1)
        xs = np.clip(np.rint(x[k] + steps * math.cos(theta[k])), 0, w - 1).astype(int)
        ys = np.clip(np.rint(y[k] + steps * math.sin(theta[k])), 0, h - 1).astype(int)
        additive[ys, xs] += np.float32(energy[k]) * rng.uniform(0.6, 1.0, len(steps)).astype(
            np.float32)


def _cosmic_rays(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    h, w = layers.additive.shape
    n = max(50, int(rng.uniform(150.0, 500.0) * h * w / 1024**2))
    _deposit_hits(layers.additive, n, rng)
    return {"n_hits": n}


def _ghost(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    h, w = layers.sources.shape
    side = min(h, w)
    r_out = float(rng.uniform(0.06, 0.18)) * side
    r_in = r_out * float(rng.uniform(0.0, 0.6))
    x0, y0 = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
    level = float(rng.uniform(0.5, 2.0)) * layers.noise_e
    yy, xx = np.ogrid[0:h, 0:w]
    r = np.sqrt((xx - np.float32(x0)) ** 2 + (yy - np.float32(y0)) ** 2)
    edge = np.float32(max(1.0, 0.05 * r_out))
    ring = (np.clip((np.float32(r_out) - r) / edge, 0.0, 1.0)
            * np.clip((r - np.float32(r_in)) / edge, 0.0, 1.0))
    layers.sources += np.float32(level) * ring.astype(np.float32)
    return {"x0": round(x0, 1), "y0": round(y0, 1), "r_out_px": round(r_out, 1),
            "r_in_px": round(r_in, 1), "level_e": round(level, 1)}


def _pickup_noise(layers: Layers, rng: np.random.Generator) -> dict[str, Any]:
    h, w = layers.additive.shape
    amp = float(rng.uniform(0.4, 1.2)) * layers.noise_e
    period = float(rng.uniform(6.0, 40.0))
    angle = float(rng.uniform(0.0, math.pi))
    phase = float(rng.uniform(0.0, 2.0 * math.pi))
    along = (np.arange(w, dtype=np.float32)[None, :] * np.float32(math.cos(angle))
             + np.arange(h, dtype=np.float32)[:, None] * np.float32(math.sin(angle)))
    layers.additive += np.float32(amp) * np.sin(np.float32(2.0 * math.pi / period) * along
                                                + np.float32(phase))
    return {"amplitude_e": round(amp, 1), "period_px": round(period, 1),
            "angle_deg": round(math.degrees(angle), 1)}


_APPLY = {"dew": _dew, "fog": _fog, "clouds": _clouds, "frost": _frost,
          "stray_light": _stray_light, "satellite": _satellite, "aircraft": _aircraft,
          "hot_columns": _hot_columns, "cosmic_rays": _cosmic_rays, "ghost": _ghost,
          "pickup_noise": _pickup_noise}


def apply_bad_readout(adu: np.ndarray, rng: np.random.Generator, noise_adu: float,
                      ) -> dict[str, Any]:
    """Row offsets, banding and an amplifier jump on a digitised frame (ADU, in place).

    Amplitudes scale with ``noise_adu``, the frame's typical pixel noise.
    """
    h, w = adu.shape
    rows = float(rng.uniform(0.3, 1.0)) * noise_adu
    adu += (rng.standard_normal(h) * rows).astype(np.float32)[:, None]
    period = float(rng.uniform(20.0, 200.0))
    band = float(rng.uniform(0.3, 1.0)) * noise_adu
    adu += np.float32(band) * np.sin(np.float32(2.0 * math.pi / period)
                                     * np.arange(h, dtype=np.float32))[:, None]
    jump = float(rng.uniform(1.0, 3.0)) * noise_adu * (1 if rng.random() < 0.5 else -1)
    left = bool(rng.random() < 0.5)
    if left:
        adu[:, : w // 2] += np.float32(jump)
    else:
        adu[:, w // 2:] += np.float32(jump)
    return {"row_rms_adu": round(rows, 2), "band_adu": round(band, 2),
            "band_period_px": round(period, 1), "amp_jump_adu": round(jump, 1),
            "amp": "left" if left else "right"}


def tracking_trail(kinds: tuple[str, ...], fwhm_px: float, u: np.ndarray,
              ) -> list[tuple[float, float, float]]:
    """(dx, dy, fraction of light) of each image of a star; one centred image normally.

    With ``"tracking"`` in ``kinds`` the telescope either jumped (two images)
    or drifted (a trail of images 0.7 px apart), drawn from the uniforms ``u[2:6]``.
    """
    if "tracking" not in kinds:
        return [(0.0, 0.0, 1.0)]
    theta = 2.0 * math.pi * float(u[2])
    c, s = math.cos(theta), math.sin(theta)
    if u[3] < 0.4:   # a jump: two images
        sep = max(3.0, fwhm_px * (2.0 + 3.0 * float(u[4])))
        frac = 0.5 + 0.3 * float(u[5])
        return [(0.0, 0.0, frac), (sep * c, sep * s, 1.0 - frac)]
    length = max(4.0, fwhm_px * (3.0 + 5.0 * float(u[4])))
    n = math.ceil(length / 0.7) + 1
    t = np.linspace(-0.5, 0.5, n) * length
    return [(float(v * c), float(v * s), 1.0 / n) for v in t]


def tracking_record(track: list[tuple[float, float, float]]) -> dict[str, float | str]:
    """The label of a tracking error: its mode, direction and size."""
    dx, dy = track[-1][0] - track[0][0], track[-1][1] - track[0][1]
    angle = round(math.degrees(math.atan2(dy, dx)), 2)
    if len(track) == 2:
        return {"mode": "jump", "angle_deg": angle, "separation_px": round(math.hypot(dx, dy), 3),
                "fraction": round(track[0][2], 4)}
    return {"mode": "trail", "angle_deg": angle, "length_px": round(math.hypot(dx, dy), 3)}
