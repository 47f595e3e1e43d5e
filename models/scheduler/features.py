"""Features of a scheduling decision, shared by the environment, training and the plugins.

numpy only (serving code). Every quantity is one the control center knows at
decision time (a :class:`~control_center.plugin_api.DecisionContext`, its
candidates and their scores), so the environment and the ``learned-policy`` /
``value-network`` plugins build the very same arrays:

* :func:`candidate_matrix`: one row of :data:`CANDIDATE_FEATURES` per candidate
  (target, telescope, exposure) -- the policy attends over these rows;
* :func:`context_vector`: :data:`CONTEXT_FEATURES` of the deciding telescope's
  site, the network and the night;
* :func:`value_matrix`: :data:`VALUE_FEATURES` of a proposed observation, the
  value network's input.

Scores enter the policy relative to the best score of the decision
(``score / max score``), so the policy works with any scorer's units.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CANDIDATE_FEATURES",
    "CONTEXT_FEATURES",
    "KINDS",
    "PHYSICS_FEATURES",
    "POLICY_FEATURES",
    "VALUE_FEATURES",
    "candidate_matrix",
    "context_vector",
    "physics_matrix",
    "value_matrix",
]

KINDS = ("science", "survey", "followup", "calibration", "opportunistic")

CANDIDATE_FEATURES = (
    "priority / 10", "log(1 + exposure s) / 7", "duration s / 900", "exposure / duration",
    "score / max score", "sigma / max score", "score rank / n", "(airmass - 1) / 2",
    "altitude / 90", "altitude change in 1 h / 30", "altitude above limit in 1 h / 30",
    "hours left in window / 8 (1: none)", "has a window", "remaining exposures / repeats",
    "failures / 3", "set-up s / 120", *[f"kind {k}" for k in KINDS],
    "programme completion - mean completion", "score per 600 s of telescope time / max",
)
PHYSICS_FEATURES = (
    "expected value (outcome physics, conditions now) / max",
    "expected value per 600 s of telescope time / max", "value-rate rank / n",
    "expected value here / best at any open telescope now",
    "expected value in 1 h / now (clipped to 2)",
)
"""Per-candidate physics of the outcome (:mod:`models.scheduler.physics`) under the
conditions reported now: policy-v2 and later see them after :data:`CANDIDATE_FEATURES`."""
POLICY_FEATURES = CANDIDATE_FEATURES + PHYSICS_FEATURES
"""Candidate features of policy-v2 (policy-v1 sees :data:`CANDIDATE_FEATURES` only)."""
CONTEXT_FEATURES = (
    "cloud cover", "humidity", "wind / 15 m/s", "seeing / 2 arcsec", "(zenith sky - 18) / 4",
    "open", "cloud change over the last 30 min", "hours of dark left / 12",
    "fraction of the night elapsed", "fraction of other sites open", "aperture m",
    "recent observation quality", "calibrated tonight", "log(1 + candidates) / 5",
    "fraction of sites offline", "mean cloud cover at other open sites",
)
VALUE_FEATURES = (
    "priority / 10", "log(1 + exposure s) / 7", "(V mag - 15) / 5", "(airmass - 1) / 2",
    "cloud cover", "humidity", "wind / 15 m/s", "seeing / 2 arcsec", "(zenith sky - 18) / 4",
    "aperture m", "(filter wavelength nm - 550) / 250", "exposure / duration",
    "hours since dusk / 10", "cloud change over the last 30 min", "failures / 3",
    *[f"kind {k}" for k in KINDS],
)
N_CANDIDATE = len(CANDIDATE_FEATURES)
N_CONTEXT = len(CONTEXT_FEATURES)
N_POLICY = len(POLICY_FEATURES)
N_VALUE = len(VALUE_FEATURES)


def _kind_onehot(kind_index: np.ndarray) -> np.ndarray:
    k = np.asarray(kind_index, dtype=int)
    out = np.zeros((k.size, len(KINDS)), dtype=np.float32)
    valid = (k >= 0) & (k < len(KINDS))
    out[np.flatnonzero(valid), k[valid]] = 1.0
    return out


def kind_index(kinds) -> np.ndarray:
    """Index of each kind in :data:`KINDS` (-1 for an unknown kind)."""
    lookup = {k: i for i, k in enumerate(KINDS)}
    return np.array([lookup.get(k, -1) for k in kinds], dtype=int)


def candidate_matrix(*, priority, exposure_s, duration_s, score, sigma, airmass, alt_deg,
                     alt_later_deg, min_alt_deg, window_left_h, remaining_frac, failures,
                     setup_s, kind, program_deficit) -> np.ndarray:
    """Rows of :data:`CANDIDATE_FEATURES` (float32, shape ``(n, N_CANDIDATE)``).

    Parameters
    ----------
    priority, exposure_s, duration_s : array
        Programme priority, open-shutter time, time until the telescope is free again.
    score, sigma : array
        The scorer's expected value and its 1-sigma uncertainty.
    airmass, alt_deg, alt_later_deg : array
        Airmass and altitude now, altitude one hour later.
    min_alt_deg : float or array
        The telescope's lowest usable altitude.
    window_left_h : array
        Hours until the candidate's window closes (NaN: no window).
    remaining_frac, failures, setup_s : array
        Exposures still wanted / repeats, earlier failures, slew or filter change.
    kind : array of int
        Index into :data:`KINDS` (see :func:`kind_index`).
    program_deficit : array
        The candidate's programme completion minus the mean over programmes.
    """
    priority = np.asarray(priority, dtype=float)
    n = priority.size
    if n == 0:
        return np.zeros((0, N_CANDIDATE), dtype=np.float32)
    score = np.asarray(score, dtype=float)
    top = max(float(np.max(score)), 1e-6)
    duration = np.maximum(np.asarray(duration_s, dtype=float), 1.0)
    exposure = np.asarray(exposure_s, dtype=float)
    rank = np.empty(n)
    rank[np.argsort(-score, kind="stable")] = np.arange(n)
    window = np.asarray(window_left_h, dtype=float)
    has_window = np.isfinite(window)
    alt = np.asarray(alt_deg, dtype=float)
    later = np.asarray(alt_later_deg, dtype=float)
    rate = score / duration * 600.0
    cols = [
        priority / 10.0, np.log1p(exposure) / 7.0, np.minimum(duration / 900.0, 4.0),
        exposure / duration, score / top, np.asarray(sigma, dtype=float) / top, rank / n,
        np.clip((np.asarray(airmass, dtype=float) - 1.0) / 2.0, 0.0, 2.0), alt / 90.0,
        np.clip((later - alt) / 30.0, -2.0, 2.0),
        np.clip((later - np.asarray(min_alt_deg, dtype=float)) / 30.0, -2.0, 2.0),
        np.where(has_window, np.clip(np.nan_to_num(window) / 8.0, 0.0, 1.0), 1.0),
        has_window.astype(float), np.clip(np.asarray(remaining_frac, dtype=float), 0.0, 1.0),
        np.minimum(np.asarray(failures, dtype=float) / 3.0, 2.0),
        np.minimum(np.asarray(setup_s, dtype=float) / 120.0, 4.0),
    ]
    out = np.concatenate([np.stack(cols, axis=1), _kind_onehot(kind),
                          np.stack([np.clip(np.asarray(program_deficit, dtype=float), -1, 1),
                                    rate / max(float(np.max(rate)), 1e-6)], axis=1)], axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def physics_matrix(*, value, duration_s, best_elsewhere, value_later) -> np.ndarray:
    """Rows of :data:`PHYSICS_FEATURES` (float32, shape ``(n, len(PHYSICS_FEATURES))``).

    Parameters
    ----------
    value : array
        Expected science value of each candidate on this telescope now.
    duration_s : array
        Telescope time it takes (slew, set-up, exposure, readout).
    best_elsewhere : array
        Its best expected value on any open telescope of the network now (this
        one included).
    value_later : array
        Its expected value here one hour later (same conditions).
    """
    value = np.asarray(value, dtype=float)
    n = value.size
    if n == 0:
        return np.zeros((0, len(PHYSICS_FEATURES)), dtype=np.float32)
    rate = value / np.maximum(np.asarray(duration_s, dtype=float), 1.0) * 600.0
    rank = np.empty(n)
    rank[np.argsort(-rate, kind="stable")] = np.arange(n)
    best = np.maximum(np.asarray(best_elsewhere, dtype=float), value)
    cols = [value / max(float(value.max()), 1e-6), rate / max(float(rate.max()), 1e-6),
            rank / n, np.where(best > 1e-9, value / np.maximum(best, 1e-9), 0.0),
            np.where(value > 1e-9, np.clip(np.asarray(value_later, dtype=float)
                                           / np.maximum(value, 1e-9), 0.0, 2.0), 0.0)]
    return np.nan_to_num(np.stack(cols, axis=1), nan=0.0, posinf=0.0,
                         neginf=0.0).astype(np.float32)


def context_vector(*, cloud, humidity, wind_m_s, seeing_arcsec, sky_v_mag, open, cloud_trend,
                   dark_left_h, night_elapsed, other_open_frac, aperture_m, recent_quality,
                   calibrated, n_candidates, offline_frac, other_cloud) -> np.ndarray:
    """:data:`CONTEXT_FEATURES` as a float32 vector (see the names for the scaling)."""
    v = [cloud, humidity, wind_m_s / 15.0, seeing_arcsec / 2.0, (sky_v_mag - 18.0) / 4.0,
         float(open), cloud_trend, min(dark_left_h / 12.0, 1.5), night_elapsed, other_open_frac,
         aperture_m, recent_quality, float(calibrated), np.log1p(n_candidates) / 5.0,
         offline_frac, other_cloud]
    return np.nan_to_num(np.clip(np.array(v, dtype=float), -5, 5)).astype(np.float32)


def value_matrix(*, priority, exposure_s, v_mag, airmass, cloud, humidity, wind_m_s,
                 seeing_arcsec, sky_v_mag, aperture_m, wavelength_nm, efficiency,
                 hours_since_dusk, cloud_trend, failures, kind) -> np.ndarray:
    """Rows of :data:`VALUE_FEATURES` for proposed observations (float32, ``(n, N_VALUE)``).

    Site quantities (cloud ... sky, aperture, hours since dusk, trend) may be scalars;
    ``v_mag`` NaN means unknown (taken as 15).
    """
    priority = np.asarray(priority, dtype=float)
    n = priority.size
    full = np.ones(n)
    v = np.nan_to_num(np.asarray(v_mag, dtype=float), nan=15.0)
    cols = [priority / 10.0, np.log1p(np.asarray(exposure_s, dtype=float)) / 7.0,
            np.clip((v - 15.0) / 5.0, -3, 3),
            np.clip((np.asarray(airmass, dtype=float) - 1.0) / 2.0, 0.0, 2.0),
            cloud * full, humidity * full, wind_m_s / 15.0 * full, seeing_arcsec / 2.0 * full,
            (np.asarray(sky_v_mag, dtype=float) - 18.0) / 4.0 * full, aperture_m * full,
            (np.asarray(wavelength_nm, dtype=float) - 550.0) / 250.0 * full,
            np.asarray(efficiency, dtype=float) * full,
            np.minimum(np.asarray(hours_since_dusk, dtype=float) / 10.0, 2.0) * full,
            cloud_trend * full, np.minimum(np.asarray(failures, dtype=float) / 3.0, 2.0) * full]
    out = np.concatenate([np.stack(cols, axis=1), _kind_onehot(kind)], axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
