"""Simulated FITS frames: headers, WCS, determinism, photometry, PSF, sky, site effects."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sep
from astropy.io import fits
from astropy.wcs import WCS

from control_center.network import load_network
from control_center.plugin_api.types import Conditions
from simulator import SimulatedSite
from simulator.detector import flat_field
from simulator.frames import Transient, frame_for_observation, render_frame

NETWORK = load_network()
SITE = NETWORK.site("la-palma")
SCOPE = SITE.telescopes[0]
# A small, well-sampled camera: 4.3 arcmin over 256 px = 1"/px.
SMALL = replace(SCOPE, field_of_view_arcmin=256 / 60.0)
CLEAR = Conditions(cloud_cover=0.0, humidity=0.3, wind_m_s=4.0, seeing_arcsec=1.8,
                   sky_v_mag_arcsec2=21.8, open=True)
START = datetime(2026, 3, 21, 23, tzinfo=UTC)
PLANE = (300.0, 30.0)          # Cygnus: dense star field
HIGH = (150.0, 2.2)            # COSMOS: high galactic latitude


def frame(site=SITE, scope=SMALL, *, field=PLANE, shape=(256, 256), **kw) -> fits.HDUList:
    args = {"ra_deg": field[0], "dec_deg": field[1], "filter": "r", "exposure_s": 60.0,
            "start": START, "conditions": CLEAR, "altitude_deg": 60.0,
            "sky_mag_arcsec2": 20.8, "seed": 3, "shape": shape} | kw
    return render_frame(site, scope, **args)


def background(data: np.ndarray):
    data = np.ascontiguousarray(data, dtype=np.float32)
    bkg = sep.Background(data)
    return data - bkg.back(), bkg


def test_headers_present_and_sane() -> None:
    hdul = frame()
    h = hdul[0].header
    for key in ("SIMPLE", "BITPIX", "NAXIS", "DATE-OBS", "MJD-OBS", "EXPTIME", "FILTER",
                "TELESCOP", "INSTRUME", "OBSERVAT", "SITELAT", "SITELONG", "SITEELEV",
                "OBJECT", "RA", "DEC", "AIRMASS", "ALTITUDE", "SEEING", "SKYMAG", "GAIN",
                "RDNOISE", "SATURATE", "PIXSCALE", "CCD-TEMP", "CTYPE1", "CD1_1", "OA_ZP",
                "OA_SKY", "OA_ANOM", "OA_SEED"):
        assert key in h, key
    assert h["BITPIX"] == -32 and hdul[0].data.dtype == np.float32
    assert hdul[0].data.shape == (256, 256)
    assert h["DATE-OBS"] == "2026-03-21T23:00:00.000"
    assert h["MJD-OBS"] == pytest.approx(61120.958333, abs=1e-5)
    assert h["OBSERVAT"] == "la-palma" and h["TELESCOP"] == SCOPE.name
    assert h["AIRMASS"] == pytest.approx(1.154, abs=0.01)
    assert h["PIXSCALE"] == pytest.approx(1.0)
    assert 1.0 < h["SEEING"] < 2.5
    assert h["OA_ANOM"] == "none"
    assert h["OA_ZP"] == pytest.approx(h["OA_ZPE"] - 2.5 * math.log10(h["GAIN"]))
    assert 0 < hdul[0].data.min() and hdul[0].data.max() <= h["SATURATE"]
    assert [x.name for x in hdul[1:]] == ["TRUTH", "GALAXIES", "ARTEFACTS"]


def test_fits_file_round_trip(tmp_path: Path) -> None:
    hdul = frame(transients=2, artefacts=["satellite"])
    path = tmp_path / "frame.fits"
    hdul.writeto(path)
    with fits.open(path) as back:
        back.verify("exception")
        np.testing.assert_array_equal(back[0].data, hdul[0].data)
        assert back[0].header["OA_ANOM"] == "satellite"
        truth = back["TRUTH"].data
        assert int(truth["is_transient"].sum()) == 2
        assert back["ARTEFACTS"].data["kind"][0] == "satellite"
        assert WCS(back[0].header).has_celestial


def test_wcs_round_trip_lands_on_star_peaks() -> None:
    hdul = frame(field=HIGH, shape=(256, 256))
    data, wcs, truth = hdul[0].data, WCS(hdul[0].header), hdul["TRUTH"].data
    sat = hdul[0].header["SATURATE"]
    checked = 0
    for row in truth[np.argsort(truth["mag"])][:8]:
        x, y = wcs.all_world2pix(row["ra"], row["dec"], 0)
        ix, iy = round(float(x)), round(float(y))
        if not (4 <= ix < 252 and 4 <= iy < 252):
            continue
        box = data[iy - 3:iy + 4, ix - 3:ix + 4]
        if box.max() >= sat:
            continue
        py, px = np.unravel_index(np.argmax(box), box.shape)
        assert math.hypot(px - 3 + ix - x, py - 3 + iy - y) < 1.0
        assert abs(x - row["x"]) < 1e-3 and abs(y - row["y"]) < 1e-3
        checked += 1
    assert checked >= 3


def test_deterministic() -> None:
    kw = {"artefacts": ["satellite", "cosmic_rays"], "transients": 2}
    a, b = frame(**kw)[0].data, frame(**kw)[0].data
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, frame(seed=1234, **kw)[0].data)


def test_sep_finds_the_bright_stars() -> None:
    hdul = frame()
    sub, bkg = background(hdul[0].data)
    found = sep.extract(sub, 5.0, err=bkg.globalrms, minarea=3)
    truth = hdul["TRUTH"].data
    lim = hdul[0].header["OA_LIM5"]
    inner = (truth["x"] > 5) & (truth["x"] < 250) & (truth["y"] > 5) & (truth["y"] < 250)
    bright = np.sum(inner & (truth["mag"] < lim - 2.0))
    faint_ok = np.sum(truth["mag"] < lim)
    assert bright > 20
    assert 0.8 * bright <= len(found) <= faint_ok


def test_measured_fwhm_tracks_seeing() -> None:
    for seeing in (1.4, 2.6):
        hdul = frame(conditions=replace(CLEAR, seeing_arcsec=seeing))
        h = hdul[0].header
        sub, bkg = background(hdul[0].data)
        obj = sep.extract(sub, 10.0, err=bkg.globalrms, minarea=5)
        ok = (obj["peak"] < 0.5 * (h["SATURATE"] - h["OA_BIAS"])) & (obj["flag"] == 0) \
            & (obj["peak"] > 30 * bkg.globalrms)
        r_half, _ = sep.flux_radius(sub, obj["x"][ok], obj["y"][ok], 6.0 * np.ones(ok.sum()),
                                    0.5, normflux=obj["flux"][ok], subpix=5)
        # Moffat beta = 3.5: half-light radius = 0.604 FWHM
        fwhm = np.median(r_half) / 0.604 * h["PIXSCALE"]
        assert fwhm == pytest.approx(h["SEEING"], rel=0.2), (seeing, fwhm, h["SEEING"])


def test_sky_level_matches_truth() -> None:
    hdul = frame(field=HIGH, scope=SCOPE, shape=(256, 256))
    h = hdul[0].header
    level = np.median(hdul[0].data) - h["OA_BIAS"]
    assert level == pytest.approx(h["OA_SKY"], rel=0.02)
    dim = frame(field=HIGH, scope=SCOPE, sky_mag_arcsec2=21.8)[0].header
    assert dim["OA_SKY"] == pytest.approx(h["OA_SKY"] / 10 ** 0.4, rel=1e-3)


def test_star_counts_match_the_zero_point() -> None:
    hdul = frame(field=HIGH)
    h, truth = hdul[0].header, hdul["TRUTH"].data
    sub, _ = background(hdul[0].data)
    stars = truth[(truth["kind"] == "star") & (truth["mag"] > 14) & (truth["mag"] < 19)
                  & (truth["x"] > 10) & (truth["x"] < 245) & (truth["y"] > 10)
                  & (truth["y"] < 245)]
    assert len(stars) >= 10
    flux, _, _ = sep.sum_circle(sub, stars["x"], stars["y"], 4.0)
    expect = h["EXPTIME"] * 10 ** (-0.4 * (stars["mag"] + h["OA_CTERM"]
                                           * (stars["b_minus_v"] - 0.65) - h["OA_ZP"]))
    np.testing.assert_allclose(stars["flux_adu"], expect, rtol=1e-4)
    # in a 4" aperture, through the flat field, faint neighbours and noise
    assert np.median(flux / expect) == pytest.approx(1.0, abs=0.06)


def test_deeper_exposure_has_higher_snr() -> None:
    snr = {}
    for t in (10.0, 160.0):
        hdul = frame(exposure_s=t, field=HIGH)
        sub, bkg = background(hdul[0].data)
        truth = hdul["TRUTH"].data
        row = truth[np.argsort(np.abs(truth["mag"] - 19.0))[0]]
        flux, err, _ = sep.sum_circle(sub, [row["x"]], [row["y"]], 3.0, err=bkg.globalrms,
                                      gain=hdul[0].header["GAIN"])
        snr[t] = flux[0] / err[0]
        assert hdul[0].header["OA_LIM5"] > 0
    assert snr[160.0] > 2.5 * snr[10.0]


def test_site_effects_differ_between_sites() -> None:
    hanle = NETWORK.site("hanle")
    scope_h = replace(SMALL, name="hanle-test")
    a, b = frame()[0].header, frame(hanle, scope_h)[0].header
    assert a["OA_ZPE"] != b["OA_ZPE"]
    assert b["OA_CTERM"] != 0.0 and a["OA_CTERM"] == 0.0
    assert b["SEEING"] > a["SEEING"]            # Hanle's telescope vibrates more
    flat_a = flat_field("la-palma", SMALL, (256, 256), 61120.0)
    flat_b = flat_field("hanle", SMALL, (256, 256), 61120.0)
    assert np.abs(flat_a - flat_b).max() > 0.005
    later = flat_field("la-palma", SMALL, (256, 256), 61140.0)
    assert 0 < np.abs(later - flat_a).max() < 0.1    # dust donuts drift slowly
    drift = frame(hours_since_dusk=5.0)[0].header
    assert a["OA_ZPE"] - drift["OA_ZPE"] == pytest.approx(
        5.0 * SITE.effects.zero_point_drift_mag_per_hour, abs=1e-4)


def test_dew_dims_and_adds_halos() -> None:
    humid = replace(CLEAR, humidity=0.8)
    dry, wet = frame(conditions=humid), frame(conditions=humid, hours_since_dew_onset=3.0)
    assert wet[0].header["OA_DEW"] > 0.2 and dry[0].header["OA_DEW"] == 0.0
    assert wet[0].header["OA_ZPE"] < dry[0].header["OA_ZPE"] - 0.2


def test_clouds_reduce_transparency_and_closed_dome_is_dark() -> None:
    clear, cloudy = frame()[0].header, frame(conditions=replace(CLEAR, cloud_cover=0.6))[0].header
    assert cloudy["OA_ZPE"] < clear["OA_ZPE"] - 0.3
    closed = frame(conditions=replace(CLEAR, open=False))
    assert closed[0].header["DOMESTAT"] == "closed"
    noise = closed[0].data - closed[0].header["OA_BIAS"]
    assert abs(np.median(noise)) < 2 and np.percentile(noise, 99.9) < 50


def test_transients_are_injected_and_flagged() -> None:
    hdul = frame(transients=3)
    truth = hdul["TRUTH"].data
    new = truth[truth["is_transient"] == 1]
    assert len(new) == 3 and set(new["kind"]) == {"transient"} and np.all(new["id"] < 0)
    base = frame()[0].data
    diff = hdul[0].data - base
    for row in new:
        assert diff[round(float(row["y"])), round(float(row["x"]))] > 0
    wcs = WCS(hdul[0].header)
    ra, dec = wcs.all_pix2world(100.0, 120.0, 0)
    explicit = frame(transients=[Transient(float(ra), float(dec), 15.0)])["TRUTH"].data
    row = explicit[explicit["is_transient"] == 1][0]
    assert (row["x"], row["y"], row["mag"]) == pytest.approx((100.0, 120.0, 15.0), abs=1e-3)


def test_frame_for_observation_uses_the_outcome() -> None:
    start = datetime(2026, 3, 22, 2, tzinfo=UTC)     # dark at Cerro Pachon
    sim = SimulatedSite(NETWORK.site("cerro-pachon"), 5, start, start + timedelta(hours=2))
    obs = next(o for h in np.arange(0.0, 2.0, 0.25)
               if (o := sim.observe("pachon-1m", 150.0, 2.2, 16.0, "r", 60.0, 1.0,
                                    start + timedelta(hours=float(h)))).success)
    hdul = frame_for_observation(sim, obs, seed=1, shape=(128, 128), object_name="COSMOS")
    h = hdul[0].header
    assert h["OBJECT"] == "COSMOS" and h["EXPTIME"] == 60.0 and h["FILTER"] == "r"
    assert h["SEEING"] == pytest.approx(obs.outcome.seeing_arcsec, abs=1e-3)
    assert h["OA_ZPE"] == pytest.approx(obs.outcome.zero_point_mag, abs=1e-4)
    assert h["SKYMAG"] == pytest.approx(obs.outcome.sky_mag_arcsec2, abs=1e-3)
    assert h["ALTITUDE"] == pytest.approx(obs.altitude_deg, abs=1e-3)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown artefact"):
        frame(artefacts=["lasers"])
    with pytest.raises(ValueError, match="exposure_s"):
        frame(exposure_s=0.0)
    with pytest.raises(ValueError, match="unknown filter"):
        frame(filter="Q")


def test_full_size_frame_is_fast() -> None:
    frame(scope=SCOPE, field=HIGH, shape=(1024, 1024))   # warm the caches
    t0 = time.perf_counter()
    hdul = frame(scope=SCOPE, field=HIGH, shape=(1024, 1024), seed=9)
    elapsed = time.perf_counter() - t0
    assert hdul[0].data.shape == (1024, 1024)
    assert elapsed < 1.0
