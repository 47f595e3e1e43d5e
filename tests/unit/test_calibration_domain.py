"""Cutouts, preprocessing, MMD and the site-invariant classifier's training (toy size)."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration.cutouts import CutoutSet, site_cutouts
from models.calibration.domain import accuracy, ece
from models.calibration.serve import preprocess

SITES = ("cerro-pachon", "la-palma", "hanle")


@pytest.fixture(scope="module")
def toy() -> dict[str, CutoutSet]:
    return {s: site_cutouts(s, d, n=128, seed=7) for d, s in enumerate(SITES)}


def test_cutouts_are_seeded_balanced_and_differ_between_sites(toy):
    again = site_cutouts("hanle", 2, n=128, seed=7)
    assert np.array_equal(again.x, toy["hanle"].x)
    assert not np.array_equal(site_cutouts("hanle", 2, n=128, seed=8).x, again.x)
    for d, s in enumerate(SITES):
        assert toy[s].x.shape == (128, 2, 25, 25) and set(toy[s].domain) == {d}
        assert toy[s].label.mean() == 0.5
    # the domain shift: Hanle's coarser pixels and poorer seeing make its stars' cores
    # hold more of the central flux than La Palma's
    def star_peak(c: CutoutSet) -> float:
        return float(np.median(c.x[c.label == 0, 0, 12, 12]))
    assert star_peak(toy["hanle"]) > 1.3 * star_peak(toy["la-palma"])


def test_preprocess_is_scale_and_offset_free_and_checks_shapes():
    raw = site_cutouts("la-palma", 1, n=16, seed=3, raw=True).x
    a = preprocess(raw[:, 0], raw[:, 1])
    b = preprocess(3.0 * raw[:, 0] + 500.0, 0.5 * raw[:, 1] - 20.0)
    assert a.shape == (16, 2, 25, 25) and a.dtype == np.float32
    assert np.allclose(a, b, atol=1e-4)
    with pytest.raises(ValueError, match="cutouts must be"):
        preprocess(raw[:, 0, :20], raw[:, 1])
    with pytest.raises(ValueError, match="16 cutouts but 3 psf_stars"):
        preprocess(raw[:, 0], raw[:3, 1])


def test_mmd_tells_shifted_samples_apart():
    torch = pytest.importorskip("torch")
    from models.calibration.model import mmd2

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(128, 8, generator=g), torch.randn(128, 8, generator=g)
    assert float(mmd2(a, b)) < 0.05 < float(mmd2(a, b + 1.0))
    shifted = (b + 1.0).requires_grad_()
    mmd2(a, shifted).backward()
    assert shifted.grad is not None and float(shifted.grad.abs().sum()) > 0


def test_ece_separates_calibrated_from_overconfident():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)
    assert ece(p, y)[0] < 0.02
    assert ece(np.where(p > 0.5, 0.99, 0.01), y)[0] > 0.2
    assert accuracy(np.array([0.9, 0.2, 0.6]), np.array([1, 0, 0])) == pytest.approx(200 / 3)


def test_domain_term_pulls_the_sites_features_together(toy):
    torch = pytest.importorskip("torch")
    from models.calibration.domain import predict, train_classifier
    from models.calibration.model import mmd2

    torch.set_num_threads(1)
    source = CutoutSet.join([toy["cerro-pachon"], toy["la-palma"]])

    def site_mmd(model) -> float:
        fa = torch.from_numpy(predict(model, toy["cerro-pachon"])[1])
        fb = torch.from_numpy(predict(model, toy["hanle"])[1])
        return float(mmd2(fa, fb))

    plain = train_classifier(source, lam=0.0, seed=0, epochs=2)
    adapted = train_classifier(source, lam=5.0, seed=0, epochs=2, target=toy["hanle"])
    assert site_mmd(adapted) < site_mmd(plain)
    prob, _ = predict(adapted, toy["la-palma"])
    assert prob.shape == (128,) and np.all((prob >= 0) & (prob <= 1))
