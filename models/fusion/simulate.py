"""Simulated multi-site photometry whose reported uncertainties are wrong.

Each object (a star of true magnitude ``m``) is measured by a random subset of
at least two of the five sites of :data:`SITES`. Every measurement carries the
conditions it was taken in (airmass, seeing) and the uncertainty its site's
pipeline *reports*, from a photon-and-sky noise model. The *true* error differs
from the reported one by a factor that depends on the site and the conditions
(:func:`true_sigma_factor`), the way real pipelines go wrong; at full strength:

=====  ===================================================================
site   how its pipeline misreports (``factor = true sigma / reported sigma``)
=====  ===================================================================
0      honest (factor 1)
1      ignores seeing-dependent aperture losses: underestimates in poor
       seeing, ``1 + 1.2 * max(seeing - 1.2", 0)``
2      conservative: overestimates everything, factor 0.6
3      ignores scintillation/extinction noise: ``1 + 1.5 * (airmass - 1)``
4      no systematic floor: true sigma ``sqrt(reported^2 + 0.03^2)``
=====  ===================================================================

A *network state* gives each site a strength ``a`` in [0, 1.5]: the factor is
``factor ** a`` (0 is an honest pipeline, 1 the table). What the network can know
about its state is each site's recent record on standard stars (known magnitudes,
:data:`N_STANDARDS` measurements per site): ``0.5 * log(mean(((x - truth) /
reported sigma)^2))``, the *site statistic* that the learned fusion takes as an
input alongside the conditions. The test sets are the nominal network (strength 1
everywhere) and the honest one (strength 0).

Sites 3 and 4 share a mountain (transparency and the calibration catalogue):
their errors correlate with coefficient :data:`CORRELATION_34`, which both the
reports and the truth include.

All arrays are padded to the five sites: slot ``k`` is site ``k``; ``mask``
says which slots hold a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CORRELATION_34", "N_FEATURES", "N_SITES", "N_STANDARDS", "SITES", "FusionSet",
           "features", "set_features", "simulate", "simulate_states", "true_sigma_factor"]

SITES = ("site-0-honest", "site-1-seeing", "site-2-conservative", "site-3-airmass",
         "site-4-nofloor")
N_SITES = len(SITES)
MEDIAN_SEEING = np.array([0.9, 1.3, 1.8, 1.1, 1.5])
"""Median seeing FWHM of each site, arcsec."""
APERTURE_NOISE = np.array([1.0, 0.7, 1.3, 0.9, 1.1])
"""Relative photometric noise of each site's telescope at fixed magnitude and seeing."""
CORRELATION_34 = 0.3
N_STANDARDS = 300
"""Standard-star measurements per site behind the site statistic."""
N_FEATURES = 4 + N_SITES
"""log reported sigma, airmass - 1, log seeing, site statistic, then the site one-hot."""


@dataclass(frozen=True)
class FusionSet:
    """A batch of simulated objects, padded to the five sites (shape ``(B, 5)``)."""

    truth: np.ndarray          # (B,) true magnitude
    values: np.ndarray         # (B, 5) measured magnitudes (0 where masked)
    sigma: np.ndarray          # (B, 5) reported sigma (1 where masked)
    true_sigma: np.ndarray     # (B, 5) true sigma (1 where masked)
    airmass: np.ndarray        # (B, 5)
    seeing: np.ndarray         # (B, 5) arcsec
    site_stat: np.ndarray      # (B, 5) the site's recent log rms of z on standard stars
    mask: np.ndarray           # (B, 5) bool
    correlation: np.ndarray    # (B, 5, 5) correlation of the errors (identity where masked)

    def __len__(self) -> int:
        return len(self.truth)

    def covariance(self, sigma: np.ndarray, pad: float = 1e3) -> np.ndarray:
        """``D R D`` for per-slot sigmas; masked slots get variance ``pad**2`` (weight ~0)."""
        s = np.where(self.mask, sigma, pad)
        return self.correlation * s[:, :, None] * s[:, None, :]

    @staticmethod
    def concatenate(parts: list[FusionSet]) -> FusionSet:
        """One set from several."""
        return FusionSet(*(np.concatenate([getattr(p, f) for p in parts])
                           for f in FusionSet.__dataclass_fields__))


def true_sigma_factor(site: np.ndarray, sigma: np.ndarray, airmass: np.ndarray,
                      seeing: np.ndarray, strength: np.ndarray | None = None) -> np.ndarray:
    """True sigma over reported sigma for each measurement (see the module table).

    ``strength`` (one per site, default 1) raises each site's factor to that power.
    """
    f = np.ones_like(sigma)
    f = np.where(site == 1, 1.0 + 1.2 * np.maximum(seeing - 1.2, 0.0), f)
    f = np.where(site == 2, 0.6, f)
    f = np.where(site == 3, 1.0 + 1.5 * (airmass - 1.0), f)
    f = np.where(site == 4, np.sqrt(sigma**2 + 0.03**2) / sigma, f)
    if strength is not None:
        f = f ** np.asarray(strength, dtype=np.float64)[site]
    return f


def _measure(rng: np.random.Generator, truth: np.ndarray,
             strength: np.ndarray) -> tuple[np.ndarray, ...]:
    """Conditions, reported and true sigma of every site for each object ``(n, 5)``."""
    n = len(truth)
    site = np.broadcast_to(np.arange(N_SITES), (n, N_SITES))
    airmass = np.minimum(1.0 + rng.exponential(0.4, (n, N_SITES)), 2.5)
    seeing = MEDIAN_SEEING * np.exp(rng.normal(0.0, 0.25, (n, N_SITES))) * airmass**0.6
    flux_noise = 0.02 * 10 ** (0.4 * (truth[:, None] - 16.0)) * APERTURE_NOISE
    sigma = np.sqrt(0.004**2 + (flux_noise * seeing / 1.2) ** 2
                    * 10 ** (0.4 * 0.15 * (airmass - 1.0)))
    true_sigma = sigma * true_sigma_factor(site, sigma, airmass, seeing, strength)
    return airmass, seeing, sigma, true_sigma


def _site_statistic(rng: np.random.Generator, strength: np.ndarray) -> np.ndarray:
    """Each site's ``0.5 log mean(z^2)`` over :data:`N_STANDARDS` standard-star measurements."""
    truth = rng.uniform(13.0, 19.0, N_STANDARDS)
    _, _, sigma, true_sigma = _measure(rng, truth, strength)
    z = true_sigma * rng.standard_normal(sigma.shape) / sigma
    return 0.5 * np.log(np.mean(z**2, axis=0))


def simulate(n: int, seed: int, *, honest: bool = False,
             strength: np.ndarray | None = None) -> FusionSet:
    """``n`` objects measured by 2 to 5 sites each, in one network state (seeded).

    Parameters
    ----------
    n : int
        Number of objects.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    honest : bool
        If true, every site reports its errors correctly (strength 0).
    strength : array_like, shape (5,), optional
        Misreporting strength of each site (default 1, the module table).
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if strength is None:
        strength = np.zeros(N_SITES) if honest else np.ones(N_SITES)
    strength = np.asarray(strength, dtype=np.float64)
    if strength.shape != (N_SITES,):
        raise ValueError(f"strength must have one value per site ({N_SITES})")
    rng = np.random.default_rng(seed)
    stat = _site_statistic(rng, strength)
    truth = rng.uniform(13.0, 19.0, n)
    n_obs = rng.integers(2, N_SITES + 1, n)
    order = np.argsort(rng.random((n, N_SITES)), axis=1)
    mask = np.zeros((n, N_SITES), dtype=bool)
    np.put_along_axis(mask, order, np.arange(N_SITES)[None, :] < n_obs[:, None], axis=1)
    airmass, seeing, sigma, true_sigma = _measure(rng, truth, strength)
    corr = np.broadcast_to(np.eye(N_SITES), (n, N_SITES, N_SITES)).copy()
    both = mask[:, 3] & mask[:, 4]
    corr[both, 3, 4] = corr[both, 4, 3] = CORRELATION_34
    chol = np.linalg.cholesky(corr)
    z = np.einsum("bij,bj->bi", chol, rng.standard_normal((n, N_SITES)))
    values = truth[:, None] + true_sigma * z
    return FusionSet(truth=truth, values=np.where(mask, values, 0.0),
                     sigma=np.where(mask, sigma, 1.0),
                     true_sigma=np.where(mask, true_sigma, 1.0),
                     airmass=np.where(mask, airmass, 1.0), seeing=np.where(mask, seeing, 1.0),
                     site_stat=np.broadcast_to(stat, (n, N_SITES)).copy(),
                     mask=mask, correlation=corr)


def simulate_states(n_states: int, per_state: int, seed: int,
                    honest_fraction: float = 0.25) -> FusionSet:
    """Objects from ``n_states`` random network states (the training distribution).

    In each state every site has strength 0 with probability ``honest_fraction``
    and otherwise a strength uniform in [0, 1.5].
    """
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(n_states):
        strength = np.where(rng.random(N_SITES) < honest_fraction, 0.0,
                            rng.uniform(0.0, 1.5, N_SITES))
        parts.append(simulate(per_state, seed * 100_003 + k + 1, strength=strength))
    return FusionSet.concatenate(parts)


def features(sigma: np.ndarray, airmass: np.ndarray, seeing: np.ndarray, site: np.ndarray,
             site_stat: np.ndarray) -> np.ndarray:
    """The learned error model's input for each measurement: ``(..., N_FEATURES)`` float32.

    Parameters
    ----------
    sigma : ndarray
        Reported sigma, magnitudes.
    airmass, seeing : ndarray
        Conditions of the measurement (seeing FWHM in arcsec).
    site : ndarray of int
        Site index into :data:`SITES`.
    site_stat : ndarray
        The site's recent ``0.5 log mean(z^2)`` on standard stars (0 for an honest site).
    """
    site = np.asarray(site)
    if np.any((site < 0) | (site >= N_SITES)):
        raise ValueError(f"site index must be in 0..{N_SITES - 1}")
    if np.any(np.asarray(sigma) <= 0) or np.any(np.asarray(seeing) <= 0):
        raise ValueError("sigma and seeing must be positive")
    onehot = np.eye(N_SITES)[site]
    cols = [np.log(sigma), np.asarray(airmass) - 1.0, np.log(seeing),
            np.broadcast_to(site_stat, np.shape(sigma))]
    return np.concatenate([np.stack(cols, axis=-1), onehot], axis=-1).astype(np.float32)


def set_features(data: FusionSet) -> np.ndarray:
    """:func:`features` for every slot of a :class:`FusionSet`: ``(B, 5, N_FEATURES)``."""
    site = np.broadcast_to(np.arange(N_SITES), data.sigma.shape)
    return features(data.sigma, data.airmass, data.seeing, site, data.site_stat)
