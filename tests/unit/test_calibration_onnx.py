"""The shipped calibration-v1 model, with onnxruntime only: check file, metadata, behaviour."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from models.calibration.cutouts import site_cutouts
from models.calibration.photometric import SiteCalibration
from models.calibration.serve import DEFAULT_MODEL, SiteInvariantClassifier

META = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())


def test_metadata_follows_the_model_contract():
    assert META["sha256"] == hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()
    assert META["name"] == "calibration-v1" and META["version"] == "v1"
    promo = META["promotion_metric"]
    assert promo == {"name": "unseen_site_accuracy_mean", "higher_is_better": True,
                     "value": pytest.approx(
                         META["metrics"]["domain"]["summary"]["mean_unseen_accuracy"])}
    assert META["metrics"]["cross_site"]["network"]["cross_site_rms_mmag"] < 5.0
    assert META["metrics"]["shipped"]["ece"] < 0.05


def test_check_file_reproduces():
    clf = SiteInvariantClassifier()
    check = np.load(DEFAULT_MODEL.with_name("calibration-v1-check.npz"))
    p, f = clf.session.run(None, {"cutouts": check["x"]})
    assert np.allclose(p, check["p_galaxy"], atol=1e-6)
    assert np.allclose(f, check["features"], atol=1e-5)
    assert clf.metadata["name"] == "calibration-v1"


def test_separates_stars_from_galaxies_at_every_site():
    clf = SiteInvariantClassifier()
    for d, site in enumerate(("cerro-pachon", "la-palma", "hanle")):
        data = site_cutouts(site, d, n=96, seed=99, raw=True)
        p, features = clf.predict(data.x[:, 0], data.x[:, 1])
        assert features.shape == (96, 32)
        assert np.mean((p >= 0.5) == (data.label == 1)) >= 0.85
        big = data.r_eff > 1.0
        assert np.median(p[big]) > 0.9
        assert np.median(p[data.label == 0]) < 0.1


def test_shipped_site_effects_serve_as_a_calibration_prior():
    effects = META["site_calibration"]["sites"]["hanle"]
    assert effects["colour_term"] == pytest.approx(effects["colour_term_true"], abs=0.003)
    assert effects["extinction"] == pytest.approx(effects["extinction_true"], abs=0.01)
    prior = SiteCalibration.from_dict(META["site_calibration"]["priors"]["hanle"])
    assert prior.site == "hanle" and prior.band == "r" and prior.converged
    assert prior.extinction == effects["extinction"]
