"""Transient candidates: new frame minus the reference of the same field.

The pipelines here have no anomaly model (an empty models directory): a frame the
anomaly model calls anomalous never becomes a reference, which is the anomaly
model's business, not the difference imaging's."""

from __future__ import annotations

import numpy as np
import pytest

from site_node.edge.pipeline import EdgePipeline
from site_node.edge.synthetic import simulated_frame, synthetic_frame
from site_node.edge.transients import ReferenceStore


def _near(candidates: list[dict], x: float, y: float, r: float = 1.5) -> list[dict]:
    return [c for c in candidates if np.hypot(c["x"] - x, c["y"] - y) < r]


def test_first_frame_becomes_the_reference_then_a_new_star_is_found(tmp_path) -> None:
    ref, cat = synthetic_frame(shape=(512, 512), n_stars=150, fwhm_px=2.5, seed=1, star_seed=9)
    new, _ = synthetic_frame(shape=(512, 512), n_stars=150, fwhm_px=3.2, seed=2, star_seed=9,
                             extra=[(200.4, 300.6, 19.0)])
    pipeline = EdgePipeline(tmp_path / "no-anomaly-model", catalogue=cat)
    first = pipeline.analyze(ref)
    assert first.reference == "stored" and first.transients == []
    second = pipeline.analyze(new)
    assert second.reference == "compared"
    assert len(second.transients) == 1, second.transients
    found = second.transients[0]
    assert found["x"] == pytest.approx(200.4, abs=0.5)
    assert found["y"] == pytest.approx(300.6, abs=0.5)
    assert found["snr"] > 5 and found["mag"] == pytest.approx(19.0, abs=0.15)
    keys = {"ra", "dec", "x", "y", "flux", "flux_err", "snr", "mag"}
    if second.vetting_model is None:
        assert set(found) == keys
    else:  # scored by the real/bogus model and kept at its threshold
        assert set(found) == keys | {"real_bogus", "vetted", "hand_cuts"} and found["vetted"]


def test_same_field_without_change_gives_no_candidate(tmp_path) -> None:
    ref, cat = synthetic_frame(shape=(512, 512), n_stars=200, seed=3, star_seed=10)
    again, _ = synthetic_frame(shape=(512, 512), n_stars=200, fwhm_px=2.0, seed=4,
                               star_seed=10, exptime=60.0)
    pipeline = EdgePipeline(tmp_path / "no-anomaly-model", catalogue=cat)
    pipeline.analyze(ref)
    result = pipeline.analyze(again)
    assert result.reference == "compared" and result.transients == []


def test_far_pointing_is_another_field_and_near_one_is_skipped_with_reason(tmp_path) -> None:
    store = ReferenceStore(grid_deg=1.0)
    ref, cat = synthetic_frame(shape=(256, 256), n_stars=80, seed=5, star_seed=11)
    # 40 arcsec at 0.5"/px = 80 px: more than a quarter of 256 px, same 1-degree field key
    moved, _ = synthetic_frame(shape=(256, 256), n_stars=80, seed=6, star_seed=11,
                               ra_deg=150.0 + 40 / 3600 / np.cos(np.radians(2.0)))
    # No anomaly model: the synthetic frames are not the simulator's, and a frame
    # judged anomalous never becomes a reference.
    pipeline = EdgePipeline(tmp_path / "no-models", references=store, catalogue=cat)
    pipeline.analyze(ref)
    result = pipeline.analyze(moved)
    assert result.reference.startswith("skipped: pointing differs")
    far, _ = synthetic_frame(shape=(256, 256), n_stars=80, seed=7, ra_deg=160.0)
    assert pipeline.analyze(far).reference == "stored"


def test_reference_store_keeps_references_on_disk(tmp_path) -> None:
    ref, cat = synthetic_frame(shape=(256, 256), n_stars=80, seed=8, star_seed=12)
    new, _ = synthetic_frame(shape=(256, 256), n_stars=80, seed=9, star_seed=12,
                             extra=[(100.0, 120.0, 18.5)])
    no_models = tmp_path / "no-models"  # see the test above
    EdgePipeline(no_models, references=ReferenceStore(tmp_path), catalogue=cat).analyze(ref)
    assert len(list(tmp_path.glob("*.fits"))) == 1
    later = EdgePipeline(no_models, references=ReferenceStore(tmp_path),
                         catalogue=cat).analyze(new)
    assert later.reference == "compared"
    assert len(_near(later.transients, 100.0, 120.0)) == 1


@pytest.fixture(scope="module")
def simulated_pair():
    ref = simulated_frame(seed=21, seeing_arcsec=1.2)
    new = simulated_frame(seed=22, seeing_arcsec=1.5, transients=3)
    tagged = simulated_frame(seed=23, seeing_arcsec=1.0, artefacts=("new_source",))
    return ref, new, tagged


def test_simulator_transients_are_found_against_the_reference(simulated_pair, tmp_path) -> None:
    ref, new, tagged = simulated_pair
    pipeline = EdgePipeline(tmp_path / "no-anomaly-model")
    assert pipeline.analyze(ref).reference == "stored"
    for hdul in (new, tagged):
        truth = hdul["TRUTH"].data
        injected = truth[truth["is_transient"] == 1]
        result = pipeline.analyze(hdul)
        assert result.reference == "compared", result.warnings
        limit = hdul[0].header["OA_LIM5"]  # magnitude at SNR 5
        for t in injected:
            hits = _near(result.transients, float(t["x"]), float(t["y"]))
            if t["mag"] < limit - 1.5:  # SNR > ~20: must be found
                assert len(hits) == 1, (t, result.transients)
            if hits:  # photometric error ~1.1 / SNR mag
                tolerance = 0.1 + 2.0 / hits[0]["snr"]
                assert hits[0]["mag"] == pytest.approx(float(t["mag"]), abs=tolerance)
        assert len(result.transients) <= len(injected) + 1  # at most one false candidate
