"""GLS (inverse-variance with covariance) combination: closed forms, Monte Carlo, bad input."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest

from models.fusion.evaluate import monte_carlo_variance
from models.fusion.inverse_variance import combine, covariance, gls_weights, gls_weights_batch


def test_independent_weights_are_inverse_variance() -> None:
    sigma = np.array([0.01, 0.02, 0.04])
    w, var = gls_weights(np.diag(sigma**2))
    inv = 1 / sigma**2
    assert w == pytest.approx(inv / inv.sum())
    assert var == pytest.approx(1 / inv.sum())


def test_two_correlated_measurements_closed_form() -> None:
    s1, s2, rho = 0.01, 0.03, 0.4
    cov = covariance([s1, s2], [[1, rho], [rho, 1]])
    w, var = gls_weights(cov)
    c = rho * s1 * s2
    denom = s1**2 + s2**2 - 2 * c
    assert w == pytest.approx([(s2**2 - c) / denom, (s1**2 - c) / denom])
    assert var == pytest.approx((s1**2 * s2**2 - c**2) / denom)
    # batched version agrees
    wb, vb = gls_weights_batch(cov[None])
    assert wb[0] == pytest.approx(w) and vb[0] == pytest.approx(var)


def test_strong_correlation_gives_negative_weight() -> None:
    w, _ = gls_weights(covariance([0.01, 0.03], [[1, 0.9], [0.9, 1]]))
    assert w[1] < 0 and w.sum() == pytest.approx(1.0)


def test_combine_with_quantities() -> None:
    est = combine([10.0, 10.2] * u.mag, [0.1, 0.2] * u.mag)
    assert est.value.to_value(u.mag) == pytest.approx(10.04)
    assert est.sigma.to_value(u.mmag) == pytest.approx(1000 / np.sqrt(125))
    assert est.chi2 == pytest.approx(0.04**2 / 0.01 + 0.16**2 / 0.04)
    with pytest.raises(ValueError, match="unit"):
        combine([10.0, 10.2] * u.mag, [0.1, 0.2])


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="positive definite"):
        gls_weights([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="sigma"):
        covariance([0.1, -0.1])
    with pytest.raises(ValueError, match="either sigma"):
        combine([1.0, 2.0])


def test_monte_carlo_variance_within_two_percent() -> None:
    mc = monte_carlo_variance(seed=0, trials=200_000)
    assert abs(mc["independent_ratio"] - 1) < 0.02
    assert abs(mc["correlated_ratio"] - 1) < 0.02
