"""The shipped value network: its ONNX file, its metadata, its calibration and behaviour."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from models.scheduler.features import VALUE_FEATURES
from models.scheduler.metrics import coverage, fit_scale, fit_variance_scale, interval_ece
from models.scheduler.serve import ValueNetwork

HERE = Path(__file__).resolve().parents[2] / "models" / "scheduler"
META = json.loads((HERE / "value-v1.json").read_text())


@pytest.fixture(scope="module")
def model():
    return ValueNetwork(HERE / "value-v1.onnx")


def test_metadata_contract_and_hash():
    assert META["name"] == "value" and META["version"] == "v1"
    assert META["sha256"] == hashlib.sha256((HERE / "value-v1.onnx").read_bytes()).hexdigest()
    pm = META["promotion_metric"]
    assert pm["higher_is_better"] is False and pm["value"] == META["metrics"]["rmse"]


def test_check_file_reproduces(model):
    with np.load(HERE / "value-v1-check.npz") as z:
        mean, sigma = model.predict(z["in_features"])
        assert mean == pytest.approx(z["out_mean"], rel=1e-5, abs=1e-5)
        assert sigma**2 == pytest.approx(z["out_variance"], rel=1e-4, abs=1e-5)


def test_recorded_goals_on_held_out_nights():
    m = META["metrics"]
    assert m["interval_ece"] <= 0.05
    assert m["rmse"] < m["formula_rmse"]
    assert m["test_nights"] >= 4


def _row(**changes):
    base = {"priority / 10": 0.6, "log(1 + exposure s) / 7": np.log1p(120) / 7,
            "(V mag - 15) / 5": -0.4, "(airmass - 1) / 2": 0.1, "cloud cover": 0.0,
            "humidity": 0.3, "wind / 15 m/s": 0.3, "seeing / 2 arcsec": 0.5,
            "(zenith sky - 18) / 4": 0.85, "aperture m": 1.0,
            "(filter wavelength nm - 550) / 250": 0.4, "exposure / duration": 0.8,
            "hours since dusk / 10": 0.3, "kind science": 1.0}
    base.update(changes)
    return np.array([[base.get(name, 0.0) for name in VALUE_FEATURES]], np.float32)


def test_value_follows_the_physics(model):
    clear, _ = model.predict(_row())
    cloudy, _ = model.predict(_row(**{"cloud cover": 0.6}))
    low, _ = model.predict(_row(**{"(airmass - 1) / 2": 0.75}))
    blurred, _ = model.predict(_row(**{"seeing / 2 arcsec": 1.5}))
    low_priority, _ = model.predict(_row(**{"priority / 10": 0.2}))
    assert max(cloudy[0], low[0], blurred[0], low_priority[0]) < clear[0]
    assert low_priority[0] == pytest.approx(clear[0] * 2 / 6, rel=0.25)  # value ~ priority
    _, sigma_clear = model.predict(_row())
    _, sigma_cloudy = model.predict(_row(**{"cloud cover": 0.6}))
    assert sigma_cloudy[0] > sigma_clear[0]


def test_interval_metrics_on_known_distributions():
    rng = np.random.default_rng(0)
    y = rng.normal(0.0, 2.0, 20000)
    assert interval_ece(y, np.zeros_like(y), np.full_like(y, 2.0)) < 0.01
    assert interval_ece(y, np.zeros_like(y), np.full_like(y, 1.0)) > 0.15
    assert coverage(y, 0 * y, 2 + 0 * y)[0.68] == pytest.approx(0.68, abs=0.02)
    assert fit_variance_scale(y, 0 * y, 1 + 0 * y) == pytest.approx(4.0, rel=0.1)
    assert fit_scale(3 * y, y) == pytest.approx(3.0)


def test_bad_input_is_refused(model):
    with pytest.raises(ValueError, match="2-D"):
        model.predict(np.zeros(len(VALUE_FEATURES)))
