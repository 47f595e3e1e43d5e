"""The fusion model card (``card.md``), written by :mod:`models.fusion.train`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_card"]


def write_card(path: Path, meta: dict[str, Any], table: str) -> None:
    """Write the model card: what the model is, its data, metrics, limits and intended use."""
    t, m = meta["training"], meta["metrics"]
    mis = m["fusion"]["misreported"]
    hon_rel = m["fusion"]["honest"]["learned"]["reliability"]
    rel = "; ".join(f"{p}: {v:.3f} / {hon_rel[p]:.3f}"
                    for p, v in mis["learned"]["reliability"].items())
    text = f"""# Model card: {meta['name']} (learned fusion of multi-site measurements)

SHA-256 of `{meta['name']}.onnx`: `{meta['sha256']}`

## What it is
An error model ({meta['n_parameters']:,} parameters: an MLP with two hidden layers of
{meta['architecture']['hidden']}) that maps each measurement's log reported sigma, airmass,
log seeing, site, and the site's recent record on standard stars (the *site statistic*,
`0.5 log mean(((x - truth) / reported sigma)^2)` over its last 300 standard-star
measurements) to `log(true sigma / reported sigma)`. The fusion is the exact
generalised least squares combination (`models/fusion/inverse_variance.py`) with the
reported correlation matrix and the corrected sigmas. The learned part never sees the
measured values, so the estimate is unbiased whatever it learns, and its sigma,
`1 / sqrt(1^T C'^-1 1)`, is the model's own uncertainty. Served with onnxruntime by
`models/fusion/serve.py` (`LearnedFusion`).

## Intended use
Combining photometry (or any scalar measurement) of one target from several sites of the
network when the sites' pipelines misreport their uncertainties in ways that depend on the
site and the conditions. It learns how the misreporting of the sites it was trained on
depends on the conditions, and reads from the site statistic how strongly each site
misreports now, so a pipeline that is fixed (or gets worse) is followed without
retraining; a new site, or a new kind of misreporting, needs retraining. Not a
replacement for fixing a pipeline.

## Training data
{t['objects']:,} simulated objects (`models/fusion/simulate.py`) from {t['states']} random
network states, each object measured by 2-5 of 5 sites: magnitudes 13-19, airmass 1-2.5,
site-dependent seeing. At full strength site 0 is honest, site 1 under-reports in poor
seeing, site 2 over-reports by 1/0.6, site 3 under-reports at high airmass, site 4 lacks a
30 mmag systematic floor; in each state every site's misreporting has a random strength
(0 with probability 0.25, otherwise uniform in 0-1.5; the factor is raised to that power).
Sites 3 and 4 correlate (0.3) in truth and in their reports.
Loss: Gaussian negative log-likelihood of the GLS estimate against the truth (its
minimum is the best linear unbiased weights and a calibrated sigma). Seed {t['seed']},
{t['epochs']} epochs (best validation epoch {t['loss']['best_epoch']}), {t['time_s']:.0f} s on
{t['threads']} CPU thread(s) (torch {t['torch']}); ONNX and PyTorch agree to
{t['onnx_max_abs_diff']:.1e}.

## Evaluation
Held out: {mis['n']:,} objects with misreported and {m['fusion']['honest']['n']:,} with honest
uncertainties (seeds never used in training). Baseline: inverse-variance (GLS) combination
with the reported covariance. Oracle (GLS with the true covariance): misreported
{mis['oracle']['rmse_mmag']:.2f} mmag, honest
{m['fusion']['honest']['oracle']['rmse_mmag']:.2f} mmag. Interval ECE: mean over p = 0.1..0.9 of
|fraction of errors inside the central p interval - p|.

{table}

Reliability of the learned sigma (nominal probability of the central interval: observed
fraction of held-out errors inside it), misreported / honest network:
{rel}

## Limits
- Simulated data only; the misreporting patterns are ours. Real sites need a training set
  of objects with a known truth (standard stars, or the network's own repeated
  measurements).
- It needs each site's standard-star statistic: without it (or with a stale one) it falls
  back to what it learned of an average network state and can be worse than inverse
  variance on an honest network.
- Errors are Gaussian in the simulation; heavy tails (outliers) are not modelled, and the
  GLS combination is not robust to them.
- RMSE over magnitudes 13-19 is dominated by the faint stars; the gain for bright stars
  (where site 4's missing floor matters) is not reported separately.
- Images: no learned coadd; proper coaddition (Zackay & Ofek 2017, `coadd.py`) is "ours"
  and its S/N is compared with weighted sums above.

Reproduce: `python -m models.fusion.train --seed {t['seed']}`; evaluate the shipped file
with onnxruntime only: `python -m models.fusion.evaluate`.
"""
    path.write_text(text)
