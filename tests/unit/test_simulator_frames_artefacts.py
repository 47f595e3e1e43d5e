"""Each injected artefact kind changes a simulated frame in its characteristic way.

A frame with an artefact and the same frame without it share every random
stream but the artefact's, so their difference isolates the artefact.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_simulator_frames import HIGH, PLANE, background, frame

from simulator.artefacts import ARTEFACT_KINDS

N = 256


def pair(kind: str, **kw):
    clean = frame(**kw)
    dirty = frame(artefacts=[kind], **kw)
    h = dirty[0].header
    assert h["OA_ANOM"] == kind
    assert clean[0].header["OA_ANOM"] == "none"
    arts = dirty["ARTEFACTS"].data
    assert list(arts["kind"]) == [kind]
    params = json.loads(arts["params"][0])
    return clean, dirty, dirty[0].data - clean[0].data, params, sigma_of(dirty)


def sigma_of(hdul) -> float:
    h = hdul[0].header
    return math.sqrt(h["OA_SKY"] * h["GAIN"] + h["RDNOISE"] ** 2) / h["GAIN"]


def line_distance(params: dict) -> np.ndarray:
    t = math.radians(params["angle_deg"])
    yy, xx = np.mgrid[0:N, 0:N]
    return (xx - params["x0"]) * math.sin(t) - (yy - params["y0"]) * math.cos(t)


def test_every_kind_is_known_and_labelled() -> None:
    assert len(ARTEFACT_KINDS) == len(set(ARTEFACT_KINDS)) >= 12
    hdul = frame(artefacts=["cosmic_rays", "satellite", "cosmic_rays"])
    assert hdul[0].header["OA_ANOM"] == "cosmic_rays,satellite"


def test_satellite_raises_a_straight_line() -> None:
    _, _, diff, p, sigma = pair("satellite", field=HIGH)
    d = np.abs(line_distance(p))
    assert np.median(diff[d < 0.5]) > 2.0 * sigma
    assert abs(np.median(diff[d > 10])) < 0.1 * sigma
    assert (d < 0.5).sum() > N * 0.5                 # it crosses the frame


def test_aircraft_has_parallel_trails_and_strobes() -> None:
    _, _, diff, p, sigma = pair("aircraft", field=HIGH)
    d = line_distance(p)
    assert p["n_strobes"] >= 3
    along = np.median(diff[np.abs(np.abs(d) - 0.0) < 0.5])
    assert diff[np.abs(d) < 12].max() > 15 * sigma                # strobe dots
    assert along < np.percentile(diff[np.abs(d) < 12], 99)
    assert abs(np.median(diff[np.abs(d) > 30])) < 0.1 * sigma


def test_cosmic_rays_are_many_sharp_hits() -> None:
    _, _, diff, p, sigma = pair("cosmic_rays", field=HIGH)
    hits = diff > 10 * sigma
    assert hits.sum() >= 40
    ys, xs = np.nonzero(hits[2:-2, 2:-2])
    ys, xs = ys + 2, xs + 2
    peak = diff[ys, xs]
    ring = np.mean([diff[ys + dy, xs + dx] for dy, dx in ((-2, 0), (2, 0), (0, -2), (0, 2))],
                   axis=0)
    assert np.median(ring / peak) < 0.3              # sharper than any star
    assert p["n_hits"] >= 50


def test_hot_columns_raise_whole_columns() -> None:
    _, _, diff, p, sigma = pair("hot_columns")
    col_med = np.median(diff, axis=0)
    for c in p["columns"]:
        assert col_med[c] > 3 * sigma or np.median(diff[N // 2:, c]) > 3 * sigma
    others = np.delete(col_med, p["columns"])
    assert np.abs(others).max() < 0.5 * sigma


def _elongation(hdul, centre_offset: np.ndarray, radius: float) -> float:
    """Median (l1 - l2) / (l1 + l2) of the second moments around the brightest stars."""
    sub, _ = background(hdul[0].data)
    truth = hdul["TRUTH"].data
    sat = 0.5 * (hdul[0].header["SATURATE"] - hdul[0].header["OA_BIAS"])
    m = radius + 2
    inner = (truth["x"] > m) & (truth["x"] < N - m) & (truth["y"] > m) & (truth["y"] < N - m)
    out = []
    for star in truth[inner][np.argsort(truth[inner]["mag"])][:8]:
        cx, cy = star["x"] + centre_offset[0], star["y"] + centre_offset[1]
        x0, y0 = round(float(cx)), round(float(cy))
        r = math.ceil(radius)
        box = sub[y0 - r:y0 + r + 1, x0 - r:x0 + r + 1].astype(float)
        if box.max() > sat:
            continue
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        xx, yy = xx + x0 - cx, yy + y0 - cy
        w = np.clip(box, 0, None) * (np.hypot(xx, yy) <= radius)
        ixx, iyy, ixy = ((w * q).sum() / w.sum() for q in (xx * xx, yy * yy, xx * yy))
        root = math.hypot(ixx - iyy, 2 * ixy)
        out.append(root / (ixx + iyy))
    return float(np.median(out))


def test_tracking_elongates_or_doubles_stars() -> None:
    for seed in (3, 4, 5, 6):
        clean, dirty, _, p, _ = pair("tracking", field=HIGH, seed=seed)
        t = math.radians(p["angle_deg"])
        if p["mode"] == "jump":
            offsets = np.array([[0.0, 0.0], [p["separation_px"] * math.cos(t),
                                             p["separation_px"] * math.sin(t)]])
            centre = (1.0 - p["fraction"]) * offsets[1]
        else:
            half = p["length_px"] / 2.0
            offsets = np.array([[-half * math.cos(t), -half * math.sin(t)],
                                [half * math.cos(t), half * math.sin(t)]])
            centre = np.zeros(2)
        extent = np.abs(offsets - centre).max()
        radius = extent + 3 * clean[0].header["SEEING"] / clean[0].header["PIXSCALE"]
        assert (_elongation(dirty, centre, radius)
                > _elongation(clean, np.zeros(2), radius) + 0.2), p


def test_clouds_dim_smoothly_and_brighten_patches() -> None:
    _, _, diff, p, sigma = pair("clouds", field=HIGH)
    assert p["mean_transmission"] < 0.9
    blocks = diff.reshape(16, 16, 16, 16).mean(axis=(1, 3))
    assert blocks.std() > 3 * sigma / 16           # large-scale structure
    assert blocks.max() > 2 * sigma / 16           # brightened patches


def test_dew_and_fog_lower_contrast_with_halos() -> None:
    clean, dew, _, p_dew, _ = pair("dew", field=PLANE)
    _, fog, _, p_fog, _ = pair("fog", field=PLANE)
    assert p_dew["loss_mag"] > 0.3 and p_fog["sky_factor"] >= 2.0
    sky = {name: np.median(h[0].data) - h[0].header["OA_BIAS"]
           for name, h in (("clean", clean), ("dew", dew), ("fog", fog))}
    assert sky["fog"] > 1.8 * sky["clean"]
    # the peaks of moderately bright stars stand out much less above the sky
    truth = clean["TRUTH"].data
    inner = (truth["x"] > 3) & (truth["x"] < N - 4) & (truth["y"] > 3) & (truth["y"] < N - 4)

    def peaks(h):
        d = h[0].data - np.median(h[0].data)
        return np.array([d[round(float(t["y"])) - 1:round(float(t["y"])) + 2,
                           round(float(t["x"])) - 1:round(float(t["x"])) + 2].max()
                         for t in truth[inner]])

    base = peaks(clean)
    sat = 0.3 * (clean[0].header["SATURATE"] - clean[0].header["OA_BIAS"])
    ok = (base > 20 * sigma_of(clean)) & (base < sat)
    assert ok.sum() >= 10
    assert np.median(peaks(dew)[ok] / base[ok]) < 0.6
    assert np.median(peaks(fog)[ok] / base[ok]) < 0.5
    # halo: light moved from the cores of bright stars to a few FWHM around them
    yy, xx = np.mgrid[0:N, 0:N]
    truth = clean["TRUTH"].data
    sat = 0.3 * (clean[0].header["SATURATE"] - clean[0].header["OA_BIAS"])
    centre = (truth["x"] > 20) & (truth["x"] < N - 20) & (truth["y"] > 20) & (truth["y"] < N - 20)
    ratios = []
    for star in truth[centre][np.argsort(truth[centre]["mag"])][:10]:
        r = np.hypot(xx - star["x"], yy - star["y"])
        if clean[0].data[r < 1.5].max() - np.median(clean[0].data) > sat:
            continue

        def ratio(h, r=r):
            d = h[0].data - np.median(h[0].data)
            return d[(r > 4) & (r < 15)].mean() / d[r < 1.5].mean()

        ratios.append(ratio(dew) / ratio(clean))
        if len(ratios) == 3:
            break
    assert len(ratios) == 3 and np.median(ratios) > 1.25, ratios


def test_defocus_makes_donuts() -> None:
    _, dirty, _, p, _ = pair("defocus", field=HIGH)
    radius = p["donut_radius_px"]
    assert radius > 3
    truth = dirty["TRUTH"].data
    m = radius + 4
    inner = (truth["x"] > m) & (truth["x"] < N - m) & (truth["y"] > m) & (truth["y"] < N - m)
    sub, _ = background(dirty[0].data)
    sat = dirty[0].header["SATURATE"] - dirty[0].header["OA_BIAS"] - 3000
    dips = 0
    for star in truth[inner][np.argsort(truth[inner]["mag"])][:5]:
        x, y = float(star["x"]), float(star["y"])
        centre = sub[round(y), round(x)]
        yy, xx = np.mgrid[0:N, 0:N]
        ring = sub[np.abs(np.hypot(xx - x, yy - y) - 0.7 * radius) < 1.0].mean()
        if ring < sat:
            dips += centre < 0.7 * ring
    assert dips >= 3


def test_new_source_adds_an_uncatalogued_point_source() -> None:
    clean, dirty, diff, p, sigma = pair("new_source", field=HIGH)
    truth = dirty["TRUTH"].data
    new = truth[truth["kind"] == "new_source"]
    assert len(new) == 1 and new["is_transient"][0] == 1 and new["id"][0] < 0
    assert len(clean["TRUTH"].data) == len(truth) - 1
    x, y = round(float(new["x"][0])), round(float(new["y"][0]))
    assert (x, y) == (round(p["x"]), round(p["y"]))
    assert diff[y, x] > 10 * sigma
    assert np.unravel_index(np.argmax(diff), diff.shape) == pytest.approx((y, x), abs=1)


def test_bad_readout_offsets_rows_and_one_amplifier() -> None:
    _, _, diff, p, sigma = pair("bad_readout", field=HIGH)
    rows = np.median(diff, axis=1)
    assert rows.std() > 0.25 * sigma
    left, right = np.median(diff[:, : N // 2]), np.median(diff[:, N // 2:])
    assert abs(left - right) == pytest.approx(abs(p["amp_jump_adu"]), rel=0.2)


def test_stray_light_is_a_strong_gradient() -> None:
    clean, _, diff, p, _ = pair("stray_light", field=HIGH)
    t = math.radians(p["angle_deg"])
    yy, xx = np.mgrid[0:N, 0:N]
    along = (xx / N - 0.5) * math.cos(t) + (yy / N - 0.5) * math.sin(t)
    sky = clean[0].header["OA_SKY"]
    assert np.median(diff[along > 0.4]) > 0.5 * sky
    assert np.median(diff[along > 0.4]) > 3 * np.median(diff[along < -0.2])


def test_frost_blocks_light_in_patches_toward_the_edges() -> None:
    clean, _, diff, p, _ = pair("frost", field=HIGH)
    assert p["covered_fraction"] > 0.05
    blocks = diff.reshape(16, 16, 16, 16).mean(axis=(1, 3))
    edge = np.concatenate([blocks[0], blocks[-1], blocks[:, 0], blocks[:, -1]])
    assert edge.mean() < blocks[6:10, 6:10].mean()
    assert edge.min() < -0.1 * clean[0].header["OA_SKY"]


def test_every_kind_renders_at_once() -> None:
    hdul = frame(artefacts=ARTEFACT_KINDS, transients=1)
    assert hdul[0].header["OA_ANOM"].split(",") == list(ARTEFACT_KINDS)
    assert np.isfinite(hdul[0].data).all()


def test_ghost_is_a_faint_ring_of_light() -> None:
    _, _, diff, p, sigma = pair("ghost")
    yy, xx = np.mgrid[0:N, 0:N]
    r = np.hypot(xx - p["x0"], yy - p["y0"])
    inside = (r < p["r_out_px"] - 2) & (r > p["r_in_px"] + 2)
    assert 0.3 * sigma < np.median(diff[inside]) < 3 * sigma
    assert abs(np.median(diff[r > p["r_out_px"] + 3])) < 0.1 * sigma
    if p["r_in_px"] > 6:
        assert abs(np.median(diff[r < p["r_in_px"] - 3])) < 0.2 * sigma   # a ring, hollow


def test_pickup_noise_is_an_oblique_periodic_pattern() -> None:
    _, _, diff, p, sigma = pair("pickup_noise")
    t = math.radians(p["angle_deg"])
    yy, xx = np.mgrid[0:N, 0:N]
    phase = 2 * math.pi / p["period_px"] * (xx * math.cos(t) + yy * math.sin(t))
    basis = np.stack([np.sin(phase).ravel(), np.cos(phase).ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(basis, diff.ravel(), rcond=None)
    amplitude = math.hypot(*coef)                               # fitted amplitude (ADU)
    assert 0.3 * sigma < amplitude < 1.5 * sigma
    assert np.std(diff.ravel() - basis @ coef) < 0.1 * sigma    # nothing else changed
