"""Calibrate the ``multiscale-residuals`` anomaly score (anomaly-v3) on normal frames only.

The score of :func:`site_node.edge.anomaly.multiscale_parts` looks at each
input channel's reconstruction residual at several scales (a single bad pixel,
a trail, a faint ring of a ghost, a halo) and in both directions, rather than at
the mean of the largest squared errors (anomaly-v2), which let a strong but
small or faint but extended anomaly drown among the normal frames' star
residuals. Everything here is fitted on *normal* frames:

* ``channel_sd``: each channel's residual RMS on normal frames;
* per part, 101 quantiles on normal calibration frames, mapping a part to a
  normal score, with a linear tail beyond them;
* the parts' mean and covariance (shrunk toward the diagonal), for the
  Mahalanobis distance that combines them;
* the threshold: the ``1 - far`` quantile of a log-normal fitted (median and
  MAD) to the combined scores of the calibration frames, each scored by a
  score fitted on the others (10-fold).

No anomaly label is used, so every kind of anomaly is held out of training and
of calibration alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DEFAULT_SCALES", "calibrate_multiscale", "lognormal_threshold", "part_specs"]

DEFAULT_SCALES = (1, 2, 4, 8)
"""Window sides (thumbnail pixels) of the residual parts."""
N_QUANTILES = 101
THRESHOLD_FOLDS = 10
"""Folds of the cross-fitted threshold (each frame scored by a fit on the others)."""
COMBINE_SHRINK = 0.5
"""Shrinkage of the parts' covariance toward its diagonal (``mahalanobis`` combination)."""


def part_specs(channels: tuple[str, ...], *, scales: tuple[int, ...] = DEFAULT_SCALES,
               raw_channels: tuple[str, ...] = ("lines",), raw_scales: tuple[int, ...] = (1,),
               latent: bool = True) -> list[list[Any]]:
    """The parts of the score: signed residual extremes of every channel at every scale,
    the largest input values of ``raw_channels`` (a trail's line in the Hough map is
    an anomaly however well it is reconstructed), and the latent distance."""
    specs: list[list[Any]] = [["res", ch, s, sign] for ch in range(len(channels))
                              for s in scales for sign in ("+", "-")]
    specs += [["raw", channels.index(name), s, "+"] for name in raw_channels
              if name in channels for s in raw_scales]
    if latent:
        specs.append(["latent"])
    return specs


def calibrate_multiscale(recon_fn: Any, x_train: np.ndarray, x_norm: np.ndarray, far: float,
                         *, channels: tuple[str, ...], combine: str = "mahalanobis",
                         optional_channels: tuple[int, ...] = (),
                         specs: list[list[Any]] | None = None,
                         ) -> tuple[dict[str, Any], float]:
    """The ``multiscale-residuals`` score fitted on normal frames, and its threshold.

    Parameters
    ----------
    recon_fn : callable
        ``recon_fn(x) -> (reconstruction, latent)`` of the trained model.
    x_train : numpy.ndarray
        Normal training frames (the latent Gaussian).
    x_norm : numpy.ndarray
        Normal frames the model was not trained on: they fit the channel scales
        and the part quantiles; the threshold is the ``1 - far`` quantile of a
        log-normal fitted to their scores when each is scored by a score fitted
        on the other frames (:data:`THRESHOLD_FOLDS`-fold, so it is set on frames
        the fit did not see; :func:`lognormal_threshold`).
    far : float
        False-alarm rate of the threshold.
    channels : tuple of str
        Input channel names.
    combine : str
        How standardised parts combine (see :func:`~site_node.edge.anomaly.reconstruction_score`);
        ``mahalanobis`` (default) fits the parts' mean and covariance on the
        normal frames too (a learned calibration, still without any anomaly).
    optional_channels : tuple of int
        Channels that may be all zero (no reference): their parts are skipped then.
    specs : list, optional
        Parts (default :func:`part_specs`).
    """
    from site_node.edge.anomaly import reconstruction_score

    _, z_train = recon_fn(x_train)
    z_train = z_train.astype(np.float64)
    mean = z_train.mean(axis=0)
    cov = np.cov(z_train, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.diag(np.diag(cov)) + 1e-6 * np.eye(len(mean))
    base: dict[str, Any] = {
        "combine": combine, "channels": list(channels),
        "parts": specs if specs is not None else part_specs(channels),
        "latent_mean": mean.tolist(), "latent_precision": np.linalg.inv(cov).tolist(),
        "optional_channels": list(optional_channels)}
    recon, latent = recon_fn(x_norm)
    score = _fit(base, x_norm, recon, latent)
    k = max(2, min(THRESHOLD_FOLDS, len(x_norm) // 2))
    fold_of = np.arange(len(x_norm)) % k
    held_out = []
    for f in range(k):
        fit_mask, test_mask = fold_of != f, fold_of == f
        fold = _fit(base, x_norm[fit_mask], recon[fit_mask], latent[fit_mask])
        held_out.append(reconstruction_score(x_norm[test_mask], recon[test_mask], fold,
                                             latent[test_mask]))
    score["threshold_fit"] = (f"{k}-fold: each normal calibration frame scored by a score "
                              "fitted on the others; log-normal tail (median and MAD of "
                              "the log scores)")
    return score, lognormal_threshold(np.concatenate(held_out), far)


def lognormal_threshold(scores: np.ndarray, far: float) -> float:
    """The ``1 - far`` quantile of a log-normal fitted robustly to normal frames' scores.

    The median and MAD of ``log(score)`` give the fit, so the one or two most
    extreme of a few hundred calibration frames (the empirical 99th percentile
    of 200 frames *is* the second largest) do not set the threshold alone.
    """
    from scipy.stats import norm

    logs = np.log(np.maximum(np.asarray(scores, float), 1e-12))
    centre = float(np.median(logs))
    spread = 1.4826 * float(np.median(np.abs(logs - centre)))
    return float(np.exp(centre + norm.ppf(1.0 - far) * spread))


def _fit(base: dict[str, Any], x: np.ndarray, recon: np.ndarray,
         latent: np.ndarray) -> dict[str, Any]:
    """Channel scales, kept parts and part quantiles fitted on normal frames ``x``."""
    from scipy.stats import norm

    from site_node.edge.anomaly import MULTISCALE, multiscale_parts

    res = x.astype(np.float64) - recon
    sd = []
    for ch in range(x.shape[1]):
        present = np.ones(len(x), bool)
        if ch in base["optional_channels"]:
            present = np.any(x[:, ch].reshape(len(x), -1) != 0, axis=1)
        sd.append(float(np.sqrt(np.mean(res[present, ch] ** 2))) if present.any() else 1.0)
    score = dict(base, method=MULTISCALE, channel_sd=[max(v, 1e-4) for v in sd])
    parts = multiscale_parts(x, recon, score, latent)
    with np.errstate(invalid="ignore"):
        spread = np.nanmax(parts, axis=0) - np.nanmin(parts, axis=0)
    keep = np.isfinite(spread) & (spread > 1e-6)    # parts constant on normal frames say nothing
    score["parts"] = [p for p, k in zip(base["parts"], keep, strict=True) if k]
    parts = parts[:, keep]
    levels = np.linspace(0.0, 1.0, N_QUANTILES)
    q = np.maximum.accumulate(np.nanquantile(parts, levels, axis=0), axis=0)
    score["z_grid"] = norm.ppf(np.clip(levels, 0.5 / len(x), 1.0 - 0.5 / len(x))).tolist()
    upper = (q[99] - q[50]) / norm.ppf(0.99)
    iqr = (q[75] - q[25]) / 1.349
    score["part_quantiles"] = q.tolist()
    score["part_tail"] = np.maximum(np.maximum(upper, iqr), 1e-3).tolist()
    if base["combine"] == "mahalanobis":
        from site_node.edge.anomaly import standardised_parts

        z = standardised_parts(x, recon, score, latent)
        z = np.where(np.isnan(z), 0.0, z)
        cov = np.atleast_2d(np.cov(z, rowvar=False))
        cov = ((1.0 - COMBINE_SHRINK) * cov + COMBINE_SHRINK * np.diag(np.diag(cov))
               + 1e-3 * np.eye(len(cov)))
        score["combine_mean"] = z.mean(axis=0).tolist()
        score["combine_precision"] = np.linalg.inv(cov).tolist()
    return score
