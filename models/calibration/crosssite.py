"""Cross-site agreement of calibrated magnitudes against the simulator's truth.

:func:`network_dataset` simulates every site of the network over several nights
(:func:`~models.calibration.simulate.simulate_night`, with reference-catalogue
errors); a fixed quarter of the stars (by a hash of their id) are *targets*, never
used to calibrate. :func:`cross_site_metrics` calibrates the targets' measurements
three ways and compares them with the truth:

* ``frame_zp`` (baseline, what a site node does alone): each frame's sigma-clipped
  median zero point, no colour term, no flat;
* ``nightly``: :func:`~models.calibration.photometric.fit_site_calibration` per
  site and night;
* ``network``: the joint fit :func:`~models.calibration.network_fit.fit_network`.

For each method, on noiseless instrumental magnitudes (so that only the
calibration's own error counts): the RMS of (each site's mean calibrated magnitude
of a target) minus its true magnitude, and the RMS of the difference between two
sites' means of the same target divided by sqrt(2) (the per-site agreement).
"""

from __future__ import annotations

import numpy as np

from control_center.network import load_network
from models.calibration.network_fit import NetworkCalibration, fit_network
from models.calibration.photometric import fit_site_calibration
from models.calibration.simulate import concat, simulate_night, star_deviates

__all__ = ["cross_site_metrics", "is_target", "network_dataset"]


def is_target(star_id: np.ndarray) -> np.ndarray:
    """The fixed quarter of stars held out of every calibration fit."""
    return star_deviates(np.asarray(star_id) + 7) > 0.6745


def network_dataset(*, seed: int, nights: int, n_frames: int, band: str = "r",
                    first_night: int = 0, catalogue_sigma: float = 0.01,
                    cirrus_every: int = 3, cirrus_cover: float = 0.15,
                    humidity: float | None = None,
                    sites: tuple[str, ...] | None = None, progress=None,
                    ) -> dict[str, np.ndarray]:
    """Matched stars of every site (or ``sites``) over ``nights`` nights, with ``site``.

    Every ``cirrus_every``-th night (counting from 1) has thin cloud: each frame's
    cover is uniform in [0, ``cirrus_cover``] (a grey loss of up to ~0.13 mag).
    ``humidity`` None draws each night's (dew after the onset hour when humid).
    """
    names = sites or tuple(s.name for s in load_network().sites)
    parts, offset = [], 0
    for night in range(first_night, first_night + nights):
        for name in names:
            part = simulate_night(name, band, night, seed=seed, n_frames=n_frames,
                                  frame_offset=offset, catalogue_sigma=catalogue_sigma,
                                  humidity=humidity,
                                  cloud_cover_max=cirrus_cover
                                  if cirrus_every and (night + 1) % cirrus_every == 0 else 0.0)
            part["site"] = np.full(len(part["x"]), name)
            parts.append(part)
            offset += n_frames
            if progress is not None:
                progress()
    return concat(parts)


def _subset(data: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in data.items()}


def _frame_zp_baseline(fit: dict[str, np.ndarray], test: dict[str, np.ndarray]) -> np.ndarray:
    zp = {}
    for f in np.unique(fit["frame"]):
        d = (fit["catalogue_mag"] - fit["instrumental_mag"])[fit["frame"] == f]
        keep = np.ones(d.size, bool)
        for _ in range(5):
            med = np.median(d[keep])
            sig = max(1.4826 * np.median(np.abs(d[keep] - med)), 1e-3)
            keep = np.abs(d - med) <= 3 * sig
        zp[int(f)] = float(np.median(d[keep]))
    return test["inst_noiseless"] + np.array([zp.get(int(f), np.nan) for f in test["frame"]])


def _nightly(fit: dict[str, np.ndarray], test: dict[str, np.ndarray], band: str,
             ) -> tuple[np.ndarray, int]:
    out = np.full(len(test["x"]), np.nan)
    failed = 0
    for s in np.unique(fit["site"]):
        for nt in np.unique(fit["night"][fit["site"] == s]):
            sel = (fit["site"] == s) & (fit["night"] == nt)
            cal = fit_site_calibration(_subset(fit, sel), site=str(s), band=band)
            failed += not cal.converged
            t = (test["site"] == s) & (test["night"] == nt)
            out[t], _ = cal.apply(test["inst_noiseless"][t], 0.0, test["catalogue_colour"][t],
                                  test["airmass"][t], test["x"][t], test["y"][t],
                                  test["time_mjd"][t])
    return out, failed


def _network(cal: NetworkCalibration, test: dict[str, np.ndarray]) -> np.ndarray:
    out = np.full(len(test["x"]), np.nan)
    for s in cal.sites:
        t = test["site"] == s
        out[t] = cal.apply(s, test["frame"][t], test["inst_noiseless"][t],
                           test["catalogue_colour"][t], test["x"][t], test["y"][t])
    return out


def agreement(test: dict[str, np.ndarray], mag: np.ndarray) -> dict[str, float]:
    """RMS (mmag) of site-mean minus truth, and of pairwise site differences / sqrt 2."""
    ok = np.isfinite(mag)
    sites = sorted(set(test["site"][ok].tolist()))
    means: dict[str, dict[int, float]] = {}
    truth: dict[int, float] = {}
    for s in sites:
        sel = ok & (test["site"] == s)
        ids, inv = np.unique(test["star_id"][sel], return_inverse=True)
        mean = np.bincount(inv, mag[sel]) / np.bincount(inv)
        tru = np.bincount(inv, test["true_mag"][sel]) / np.bincount(inv)
        means[s] = dict(zip(ids.tolist(), mean.tolist(), strict=True))
        truth.update(zip(ids.tolist(), tru.tolist(), strict=True))
    vs_truth = [m - truth[i] for s in sites for i, m in means[s].items()]
    pairs = [means[a][i] - means[b][i] for k, a in enumerate(sites) for b in sites[k + 1:]
             for i in set(means[a]) & set(means[b])]
    return {"rms_vs_truth_mmag": 1000 * float(np.sqrt(np.mean(np.square(vs_truth)))),
            "cross_site_rms_mmag": 1000 * float(np.sqrt(np.mean(np.square(pairs)) / 2)),
            "n_targets": len(truth), "n_pairs": len(pairs)}


def cross_site_metrics(data: dict[str, np.ndarray], *, band: str = "r",
                       ) -> tuple[dict[str, dict[str, float]], NetworkCalibration]:
    """Agreement of the three methods on the target stars, and the fitted network."""
    target = is_target(data["star_id"])
    fit, test = _subset(data, ~target), _subset(data, target)
    cal = fit_network(fit, band=band)
    nightly, failed = _nightly(fit, test, band)
    out = {"frame_zp": agreement(test, _frame_zp_baseline(fit, test)),
           "nightly": {**agreement(test, nightly), "nights_not_converged": failed},
           "network": agreement(test, _network(cal, test))}
    return out, cal
