"""Site-dependent photometric biases removed: faint neighbours in the target's aperture
(deep catalogue), flat errors at the target's position (the night's star flat), and the
evaluation's white-noise yardsticks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

from control_center.network import load_network
from control_center.photometry.calibrate import (
    StarResiduals,
    calibrate_target,
    fit_calibration,
    frame_residuals,
    matches_table,
)
from control_center.photometry.evaluate import (
    Scenario,
    _fields,
    _site_telescopes,
    fusion_bounds,
    scenarios,
)
from control_center.plugin_api.types import Conditions
from control_center.projections.lightcurves import FrameRecord
from site_node.edge.frame import load_frame
from site_node.edge.photometry import measure_photometry
from site_node.edge.quality import measure_quality
from site_node.edge.sources import extract_sources

RA, DEC = 150.1, 2.2
MJD0 = 61120.875


# -- the node: faint neighbours in the target's aperture -----------------------------------

def render(transients, *, seed: int = 3, shape=(256, 256)):
    from simulator.frames import Transient, render_frame

    site = load_network().site("hanle")
    sky = Conditions(cloud_cover=0.0, humidity=0.3, wind_m_s=4.0, seeing_arcsec=1.0,
                     sky_v_mag_arcsec2=21.8, open=True)
    return render_frame(site, site.telescopes[0], ra_deg=RA, dec_deg=DEC, filter="r",
                        exposure_s=60.0, start=datetime(2026, 3, 21, 23, tzinfo=UTC),
                        conditions=sky, altitude_deg=60.0, sky_mag_arcsec2=20.8, seed=seed,
                        shape=shape, transients=[Transient(*t) for t in transients])


@dataclass
class _Table:
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    b_minus_v: np.ndarray
    r: np.ndarray

    def mag_in(self, band: str) -> np.ndarray:
        assert band == "r"
        return self.r


def deep_catalogue(extra_ra: float, extra_dec: float, extra_r: float):
    """The simulator's catalogue plus one faint star (V = r + 0.3) it does not list."""
    from simulator.starfield import stars_in_field

    def query(ra, dec, radius, *, mag_limit):
        t = stars_in_field(ra, dec, radius, mag_limit=mag_limit)
        ra_, dec_, bv, r = t.ra_deg, t.dec_deg, t.b_minus_v, t.mag_in("r")
        if extra_r + 0.3 <= mag_limit:
            ra_, dec_ = np.append(ra_, extra_ra), np.append(dec_, extra_dec)
            bv, r = np.append(bv, 0.65), np.append(r, extra_r)
        return _Table(ra_, dec_, bv, r)
    return query


def target_bias(hdul, **kwargs) -> float:
    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain, saturate=frame.saturate)
    q = measure_quality(ext, pixel_scale_arcsec=frame.pixel_scale_arcsec)
    result = measure_photometry(frame, ext, fwhm_px=q.fwhm_px, **kwargs)
    t = result.target
    assert t["status"] == "ok" and t["method"] == "aperture"
    return 16.0 - t["instrumental_mag"] - hdul[0].header["OA_ZP"], t


def test_a_faint_unlisted_neighbour_in_the_aperture_is_subtracted():
    # hanle's 256 px frames have ~10 arcsec pixels: a neighbour 4 mag fainter, 8 arcsec
    # away, is inside the 2 px aperture yet fainter than the star catalogue's V < 20
    dec_n = DEC + 8.0 / 3600.0
    hdul = render([(RA, DEC, 16.0), (RA, dec_n, 20.0)])
    clean = render([(RA, DEC, 16.0)])
    query = deep_catalogue(RA, dec_n, 20.0)
    reference, _ = target_bias(clean)                  # the simulator's own catalogue
    raw, _ = target_bias(hdul, catalogue=query, deep_limit=None)
    corrected, t = target_bias(hdul, catalogue=query)
    assert raw - reference > 0.01                      # brightened by the neighbour
    assert abs(corrected - reference) < 0.35 * (raw - reference)
    assert t["contamination_neighbours"] >= 1 and t["contamination_flux"] > 0


def test_a_saturated_target_is_flagged_without_a_magnitude():
    hdul = render([(RA, DEC, 7.0)])
    frame = load_frame(hdul)
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain, saturate=frame.saturate)
    result = measure_photometry(frame, ext, fwhm_px=1.0)
    assert result.target["status"] == "saturated" and result.target["instrumental_mag"] is None
    assert "target saturated" in result.reasons


# -- the control center: the night's star flat ---------------------------------------------

def dusty_frames(rng, *, n_frames: int = 24, n_stars: int = 150, dip: float = 0.03,
                 width: float = 0.12):
    """Frames whose flat has a dust shadow (``dip`` mag, Gaussian ``width``) on the target."""
    frames, truth = [], 15.0
    for k in range(n_frames):
        airmass = 1.1 + 0.5 * k / n_frames
        cat = rng.uniform(12.0, 16.0, n_stars)
        colour = rng.uniform(0.2, 1.4, n_stars)
        x, y = rng.uniform(-1, 1, n_stars), rng.uniform(-1, 1, n_stars)
        # the dust shadow sits near the frame centre; the target is there in every frame
        x[:6], y[:6] = rng.normal(0, width, 6), rng.normal(0, width, 6)
        shadow = dip * np.exp(-0.5 * (x**2 + y**2) / width**2)
        inst = cat - 23.0 + 0.1 * airmass + shadow + rng.normal(0, 0.005, n_stars)
        tx, ty = rng.normal(0, 0.01, 2)
        t_inst = truth - 23.0 + 0.1 * airmass + dip * np.exp(-0.5 * (tx**2 + ty**2) / width**2)
        target = {"status": "ok", "x": float(tx), "y": float(ty), "colour": 0.65,
                  "instrumental_mag": float(t_inst + rng.normal(0, 0.003)),
                  "instrumental_err": 0.003}
        stars = {"x": x.tolist(), "y": y.tolist(), "instrumental_mag": inst.tolist(),
                 "instrumental_err": [0.005] * n_stars, "catalogue_mag": cat.tolist(),
                 "catalogue_colour": colour.tolist(), "flag": [0] * n_stars}
        frames.append(FrameRecord(f"o{k}", "r", "T", "s", "t", "r", "n", MJD0 + k * 0.02,
                                  airmass, 60.0, 1.0, "ok", target, stars))
    return frames, truth


def test_the_night_star_flat_removes_a_flat_error_at_the_target():
    frames, truth = dusty_frames(np.random.default_rng(4))
    cal = fit_calibration(matches_table(frames), site="s", band="r")
    assert cal.converged
    pooled = StarResiduals(frame_residuals(cal, f) for f in frames)
    assert len(pooled) > 1000
    before = np.array([calibrate_target(cal, f).mag for f in frames]) - truth
    after_points = [calibrate_target(cal, f, pooled) for f in frames]
    after = np.array([p.mag for p in after_points]) - truth
    assert abs(np.mean(before)) > 0.01                 # the polynomial flat misses the shadow
    assert abs(np.mean(after)) < 0.35 * abs(np.mean(before))
    # the correction's uncertainty is in the error bars
    assert all(p.err > calibrate_target(cal, f).err for p, f in zip(after_points, frames,
                                                                      strict=True))


def test_without_stars_near_the_target_the_star_flat_changes_nothing():
    pooled = StarResiduals([])
    c = pooled.correction(0.0, 0.0)
    assert c.value == 0.0 and c.sigma == 0.0 and len(pooled) == 0


# -- the evaluation's yardsticks --------------------------------------------------------------

def test_fusion_bounds_goal_and_optimal():
    equal = fusion_bounds({"a": 6.0, "b": 6.0, "c": 6.0})
    assert equal["goal"] == pytest.approx(6.0 / np.sqrt(3) * 1.1)
    assert equal["optimal"] == pytest.approx(6.0 / np.sqrt(3))
    assert equal["goal_attainable"]
    # unequal sites: even the optimal combination misses best / sqrt(n) x 1.1
    unequal = fusion_bounds({"a": 5.0, "b": 8.3, "c": 9.4})
    assert unequal["optimal"] > unequal["goal"] and not unequal["goal_attainable"]
    with pytest.raises(ValueError, match="positive"):
        fusion_bounds({"a": 0.0})


def test_the_white_noise_scenario_has_comparable_sites_and_no_systematics():
    white, realistic = scenarios("all", seed=5)
    assert white.name == "white-noise" and realistic.name == "realistic"
    assert white.seed == realistic.seed == 5
    assert white.max_cloud == 0.0 and not white.site_effects and white.twin_telescopes
    scopes = _site_telescopes(white, load_network())
    designs = {(t.aperture_m, t.field_of_view_arcmin) for _, t in scopes.values()}
    assert len(designs) == 1 and len({t.name for _, t in scopes.values()}) == len(white.sites)
    assert all(s.effects.zero_point_drift_mag_per_hour == 0.0 and s.effects.colour_tint == 0.0
               for s, _ in scopes.values())
    names = [f.name for f in _fields(white)]
    assert names == ["WHITE-1", "WHITE-2", "WHITE-3", "WHITE-4"]
    assert len({f.name for f in _fields(realistic)}) == len(_fields(realistic))
    real = _site_telescopes(Scenario(), load_network())
    assert len({t.aperture_m for _, t in real.values()}) > 1
    with pytest.raises(ValueError, match="unknown scenario"):
        scenarios("cloudy")


def test_a_listed_faint_neighbour_is_subtracted_a_bright_one_is_fitted():
    # V = 19.3: in the star catalogue, so the target is crowded; its light is a small
    # part of the aperture's, so it is subtracted rather than fitted jointly
    dec_n = DEC + 8.0 / 3600.0
    query = deep_catalogue(RA, dec_n, 19.0)
    reference, _ = target_bias(render([(RA, DEC, 16.0)]))
    raw_hdul = render([(RA, DEC, 16.0), (RA, dec_n, 19.0)])
    corrected, t = target_bias(raw_hdul, catalogue=query)
    raw, _ = target_bias(raw_hdul, catalogue=query, deep_limit=None, psf=False)
    assert t["method"] == "aperture" and t["contamination_neighbours"] >= 1
    assert raw - reference > 0.03
    assert abs(corrected - reference) < 0.35 * (raw - reference)
    # an equally bright neighbour is fitted jointly (PSF photometry)
    frame = load_frame(render([(RA, DEC, 16.0), (RA, dec_n, 16.0)]))
    ext = extract_sources(frame.data, mask=frame.mask, gain=frame.gain, saturate=frame.saturate)
    result = measure_photometry(frame, ext, fwhm_px=1.0, catalogue=deep_catalogue(RA, dec_n, 16.0))
    assert result.target["method"] == "psf"


def test_the_table_says_where_the_goal_applies():
    from control_center.photometry.evaluate import GOAL_NOTE, _table

    site = {"n": 16, "rms_mmag": 5.0, "scatter_mmag": 5.0, "mean_offset_mmag": 0.1,
            "median_err_mmag": 5.0, "pull_std": 1.0}
    fused = {"n": 16, "rms_mmag": 3.0, "scatter_mmag": 3.0, "pull_std": 1.0, "meets_goal": True,
             "over_optimal": 1.04, "meets_scatter_goal": True, "scatter_over_optimal": 1.0}
    base = {"frames": 48, "sites": ["a", "b", "c"], "seconds": 1.0, "seed": 0,
            "white_single_site": {"a": site, "b": site, "c": site}, "white_targets": ["WHITE-1"],
            "white_goal_mmag": 3.18, "white_optimal_mmag": 2.89, "white_goal_attainable": True,
            "white_fused_gls": fused, "cross_site_offsets": {}, "site_offsets_vs_truth_mmag": {},
            "max_cross_site_offset_mmag": 1.0, "offset_goal_met": True,
            "new_transients": {"found": 0, "of": 0}, "variables": {"found": 0, "of": 0},
            "false_alarms": {"fields": 0, "of": 1, "alerts": 0}, "drift_events": []}
    white = _table({**base, "scenario": "white-noise", "goal_applies": True,
                    "note": GOAL_NOTE["white-noise"]})
    assert "goal <= 3.18: met" in white and "the fusion goal applies here" in white
    real = _table({**base, "scenario": "realistic", "goal_applies": False,
                   "note": GOAL_NOTE["realistic"]})
    assert "1.04 x optimal (within 1.1)" in real and "(not applicable)" in real
