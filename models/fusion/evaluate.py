"""Evaluate the fusion models against their baselines; ``python -m models.fusion.evaluate``.

Measurements: the shipped ONNX error model (run with onnxruntime only, through
:class:`models.fusion.serve.LearnedFusion`) against the inverse-variance (GLS)
combination with the reported covariance, on held-out simulated objects with
misreported and with honest uncertainties; RMSE against the truth, and the
calibration of each method's own sigma. Images: proper coaddition against the
plain and PSF-weighted sums, matched-filter S/N of faint point sources. And the
Monte Carlo check of the GLS variance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import norm

from models.fusion import coadd as co
from models.fusion.inverse_variance import gls_weights, gls_weights_batch
from models.fusion.simulate import FusionSet, simulate

__all__ = ["calibration", "coadd_metrics", "evaluate_fusion", "fusion_metrics", "gls_estimate",
           "markdown_table", "monte_carlo_variance", "test_sets"]

LEVELS = np.round(np.arange(0.1, 1.0, 0.1), 2)
"""Nominal probabilities of the central intervals used for the calibration error."""


def test_sets(seed: int, n: int = 20000) -> dict[str, FusionSet]:
    """The held-out objects: the nominal misreporting network and an honest one.

    Seeds are disjoint from training's; each set is one network state (strength 1
    or 0 at every site) with its own standard-star site statistics.
    """
    return {"misreported": simulate(n, 1000 * seed + 3),
            "honest": simulate(n, 1000 * seed + 4, honest=True)}


def gls_estimate(data: FusionSet, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GLS estimate and sigma of each object with per-slot sigmas ``sigma``."""
    w, var = gls_weights_batch(data.covariance(sigma))
    return np.sum(np.where(data.mask, w * data.values, 0.0), axis=1), np.sqrt(var)


def calibration(err: np.ndarray, sd: np.ndarray) -> dict[str, float]:
    """Coverage of the +-1 and +-2 sigma intervals and the interval calibration error.

    The calibration error is the ECE of the probabilities ``p`` the method implies
    for its central intervals ``+- z_p sigma`` (``p`` = 0.1 ... 0.9): the mean of
    ``|observed fraction inside - p|``; ``reliability`` lists the observed
    fraction for each ``p`` (the reliability diagram as numbers).
    """
    z = np.abs(err / sd)
    cover = np.array([np.mean(z < norm.ppf(0.5 + p / 2)) for p in LEVELS])
    return {"within_1sigma": float(np.mean(z < 1)), "within_2sigma": float(np.mean(z < 2)),
            "interval_ece": float(np.mean(np.abs(cover - LEVELS))),
            "reliability": {f"{p:.1f}": float(c) for p, c in zip(LEVELS, cover, strict=True)}}


def fusion_metrics(truth: np.ndarray, est: np.ndarray, sd: np.ndarray) -> dict[str, float]:
    """RMSE against the truth (mmag) and calibration of the method's own sigma."""
    err = est - truth
    return {"rmse_mmag": float(1000 * np.sqrt(np.mean(err**2))), **calibration(err, sd)}


def evaluate_fusion(fuse: Any, sets: dict[str, FusionSet]) -> dict[str, Any]:
    """Learned fusion (``fuse(data) -> (estimate, sigma)``) vs GLS on every test set.

    ``oracle`` is GLS with the true covariance (the best any reweighting can do).
    """
    out: dict[str, Any] = {}
    for name, data in sets.items():
        iv = fusion_metrics(data.truth, *gls_estimate(data, data.sigma))
        oracle = fusion_metrics(data.truth, *gls_estimate(data, data.true_sigma))
        ours = fusion_metrics(data.truth, *fuse(data))
        out[name] = {"n": len(data), "inverse_variance": iv, "learned": ours, "oracle": oracle,
                     "rmse_ratio": ours["rmse_mmag"] / iv["rmse_mmag"]}
    return out


def monte_carlo_variance(seed: int, trials: int = 400_000) -> dict[str, float]:
    """Empirical variance of the GLS estimate over its predicted variance.

    Independent case: four sites with sigmas 10, 20, 50, 30 mmag against
    ``1 / sum(1/sigma^2)``; correlated case: the same with correlations 0.3-0.6
    against ``1 / (1^T C^-1 1)``.
    """
    rng = np.random.default_rng(seed)
    sigma = np.array([0.010, 0.020, 0.050, 0.030])
    corr = np.array([[1.0, 0.5, 0.0, 0.0], [0.5, 1.0, 0.3, 0.0],
                     [0.0, 0.3, 1.0, 0.6], [0.0, 0.0, 0.6, 1.0]])
    out = {}
    for name, r in (("independent", np.eye(4)), ("correlated", corr)):
        cov = r * np.outer(sigma, sigma)
        w, var = gls_weights(cov)
        x = 15.0 + rng.multivariate_normal(np.zeros(4), cov, size=trials)
        est = x @ w
        theory = 1.0 / np.sum(1.0 / sigma**2) if name == "independent" else var
        out[f"{name}_ratio"] = float(np.var(est) / theory)
    return out


def coadd_metrics(seed: int, realisations: int = 4, size: int = 256) -> dict[str, float]:
    """Mean matched-filter S/N of faint point sources in each coadd of one simulated field.

    Four sites: Gaussian 2.5 px, Moffat 5 px, Gaussian 9 px and Moffat 3.5 px
    (beta 2.5) PSFs, noise 1.0/0.7/0.5/1.5, flux scalings 1.0/0.8/1.2/0.6; 64
    sources of flux 20 on a grid, ``realisations`` noise draws. ``optimal`` is the
    S/N of the ideal joint matched filter, ``sqrt(sum_j F_j^2 f^2 sum(P_j^2) / sigma_j^2)``.
    """
    shape = (size, size)
    psfs = [co.gaussian_psf(shape, 2.5), co.moffat_psf(shape, 5.0),
            co.gaussian_psf(shape, 9.0), co.moffat_psf(shape, 3.5, beta=2.5)]
    sigmas, fluxes, flux = [1.0, 0.7, 0.5, 1.5], [1.0, 0.8, 1.2, 0.6], 20.0
    grid = np.arange(size // 16, size, size // 8)
    pos = np.array([(a, b) for a in grid for b in grid])
    methods = {"weighted_sum": co.weighted_sum, "psf_weighted_sum": co.psf_weighted_sum,
               "proper_coadd": co.proper_coadd}
    snr: dict[str, list[float]] = {k: [] for k in methods}
    for k in range(realisations):
        images, noise = co.simulate_field(shape, psfs, sigmas, fluxes, pos, flux, seed + k)
        for name, fn in methods.items():
            snr[name].extend(co.matched_filter_snr(fn(images, psfs, sigmas, fluxes),
                                                   fn(noise, psfs, sigmas, fluxes), pos))
    out = {name: float(np.mean(v)) for name, v in snr.items()}
    out["optimal"] = float(np.sqrt(sum((f * flux) ** 2 * np.sum(p**2) / s**2
                                       for p, s, f in zip(psfs, sigmas, fluxes, strict=True))))
    out["n_sources"] = len(pos) * realisations
    return out


def markdown_table(m: dict[str, Any]) -> str:
    """The metrics as the markdown table of ``models/README.md``."""
    mis, hon = m["fusion"]["misreported"], m["fusion"]["honest"]
    mc, cd = m["monte_carlo"], m["coadd"]
    def rmse(d: dict[str, Any]) -> str:
        return f"{d['rmse_mmag']:.2f} mmag"

    def cal(d: dict[str, Any]) -> str:
        return f"{d['interval_ece']:.3f} ({d['within_1sigma']:.1%} / {d['within_2sigma']:.1%})"

    rows = [
        ("GLS variance, independent (MC)", "1/sum(1/sigma^2)",
         f"empirical / predicted = {mc['independent_ratio']:.4f}", "within 2 %"),
        ("GLS variance, correlated (MC)", "1/(1^T C^-1 1)",
         f"empirical / predicted = {mc['correlated_ratio']:.4f}", "within 2 %"),
        ("RMSE, misreported sigmas", f"inverse variance: {rmse(mis['inverse_variance'])}",
         f"{rmse(mis['learned'])} ({mis['rmse_ratio']:.3f}x); oracle {rmse(mis['oracle'])}",
         "<= 0.9x"),
        ("RMSE, honest sigmas",
         f"inverse variance: {rmse(hon['inverse_variance'])}",
         f"{rmse(hon['learned'])} ({hon['rmse_ratio']:.3f}x)", "<= ~1.02x"),
    ]
    for name, d in (("misreported", mis), ("honest", hon)):
        rows.append((f"sigma calibration, {name}: interval ECE (in 1 / 2 sigma)",
                     cal(d["inverse_variance"]), cal(d["learned"]),
                     "<= 0.05 (68.3 % / 95.4 %)"))
    rows.append((f"coadd matched-filter S/N, {cd['n_sources']} faint sources",
                 (f"weighted sum {cd['weighted_sum']:.2f}; "
                 f"PSF-weighted {cd['psf_weighted_sum']:.2f}"),
                 f"proper coadd {cd['proper_coadd']:.2f} (ideal {cd['optimal']:.2f})",
                 ">= proper coaddition's"))
    lines = ["| metric | baseline | ours | goal |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def evaluate_all(fuse: Any, seed: int) -> dict[str, Any]:
    """Every metric of the fusion model card for the learned fusion ``fuse``."""
    return {"fusion": evaluate_fusion(fuse, test_sets(seed)),
            "monte_carlo": monte_carlo_variance(seed), "coadd": coadd_metrics(seed)}


def main(argv: list[str] | None = None) -> int:
    from models.fusion.serve import DEFAULT_MODEL, LearnedFusion

    p = argparse.ArgumentParser(prog="python -m models.fusion.evaluate",
                                description="Re-evaluate the shipped fusion model (onnxruntime).")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the ONNX file")
    args = p.parse_args(argv)
    fusion = LearnedFusion(args.model)
    meta_path = args.model.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else fusion.metadata
    seed = int(meta.get("training", {}).get("seed", 0))
    metrics = evaluate_all(fusion.fuse_set, seed)
    print(f"{meta.get('name', args.model.stem)}@{meta.get('sha256', '?')[:12]} (seed {seed})")
    print(markdown_table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
