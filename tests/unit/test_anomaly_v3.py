"""anomaly-v3's score: multi-scale signed residuals calibrated on normal frames only."""

from __future__ import annotations

import numpy as np
import pytest

from site_node.edge.anomaly import MULTISCALE, multiscale_parts, reconstruction_score


def _score(parts: list, channels: int = 1) -> dict:
    return {"method": MULTISCALE, "parts": parts, "channel_sd": [1.0] * channels,
            "optional_channels": []}


def test_wide_windows_add_up_a_faint_extended_offset_but_not_one_pixel() -> None:
    x = np.zeros((2, 1, 32, 32))
    x[0, 0, 8:16, 8:16] = 0.5          # a faint 8x8 patch (a ghost)
    x[1, 0, 20, 20] = 4.0              # one bright pixel (a cosmic ray)
    parts = multiscale_parts(x, np.zeros_like(x), _score(
        [["res", 0, 1, "+"], ["res", 0, 8, "+"], ["res", 0, 1, "-"]]))
    # the patch: 0.5 per pixel, but 8 * 0.5 = 4 over an 8x8 window
    np.testing.assert_allclose(parts[0], [0.5, 4.0, 0.0])
    # the pixel: 4 alone, 4 / 8 = 0.5 in a wide window
    np.testing.assert_allclose(parts[1], [4.0, 0.5, 0.0])


def test_signed_parts_see_a_deficit_and_raw_parts_see_the_input() -> None:
    x = np.zeros((1, 2, 16, 16))
    recon = np.zeros_like(x)
    x[0, 0, 4:8, 4:8] = -1.0           # light lost (a cloud) is a negative residual
    x[0, 1] = 0.3
    recon[0, 1] = 0.3                  # perfectly reconstructed, but large as input
    score = _score([["res", 0, 4, "+"], ["res", 0, 4, "-"], ["raw", 1, 1, "+"],
                    ["res", 1, 1, "+"]], channels=2)
    np.testing.assert_allclose(multiscale_parts(x, recon, score)[0], [0.0, 4.0, 0.3, 0.0])


def test_parts_of_a_missing_reference_channel_are_left_out() -> None:
    x = np.ones((2, 2, 8, 8))
    x[1, 1] = 0.0                      # frame 1: no reference, the channel is all zero
    score = dict(_score([["res", 0, 1, "+"], ["res", 1, 1, "+"]], channels=2),
                 optional_channels=[1])
    parts = multiscale_parts(x, np.zeros_like(x), score)
    assert np.isfinite(parts[0]).all()
    assert np.isfinite(parts[1, 0]) and np.isnan(parts[1, 1])


def _normal_frames(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.2, (n, 2, 16, 16)).astype(np.float32)


def _recon(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in 'model': predicts zero, latent = channel means."""
    return np.zeros_like(x), x.mean(axis=(2, 3)).astype(np.float32)


def test_calibration_on_normal_frames_only_sets_the_false_alarm_rate() -> None:
    from models.anomaly.multiscale import calibrate_multiscale, part_specs

    channels = ("light", "lines")
    score, threshold = calibrate_multiscale(
        _recon, _normal_frames(200, 0), _normal_frames(400, 1), 0.05, channels=channels,
        specs=part_specs(channels, scales=(1, 4)))
    assert score["method"] == MULTISCALE and len(score["part_quantiles"]) == 101
    fresh = _normal_frames(600, 2)
    false_alarms = np.mean(reconstruction_score(fresh, *_recon(fresh)[:1], score,
                                                _recon(fresh)[1]) > threshold)
    assert 0.01 <= false_alarms <= 0.12
    # a faint 6x6 offset, well inside the pixel noise (0.3 vs 0.2), is flagged
    ghost = _normal_frames(50, 3)
    ghost[:, 0, 5:11, 5:11] += 0.3
    flagged = reconstruction_score(ghost, *_recon(ghost)[:1], score, _recon(ghost)[1])
    assert np.mean(flagged > threshold) >= 0.9


def test_parts_constant_on_normal_frames_are_dropped() -> None:
    from models.anomaly.multiscale import calibrate_multiscale

    x = _normal_frames(40, 4)
    x[:, 1] = 0.0                      # a channel that never changes
    score, _ = calibrate_multiscale(_recon, x, _normal_frames(40, 5) * [[[[1.0]], [[0.0]]]],
                                    0.05, channels=("light", "sharp"),
                                    specs=[["res", 0, 1, "+"], ["raw", 1, 1, "+"]])
    assert score["parts"] == [["res", 0, 1, "+"]]


def test_injected_ghost_has_the_requested_level() -> None:
    from models.anomaly.strength import _noise_adu, inject

    data = np.random.default_rng(0).normal(1000.0, 10.0, (128, 128))
    out = inject(data, "ghost", 2.0, np.random.default_rng(1))
    added = out - data
    assert added.min() == pytest.approx(0.0)
    assert added.max() == pytest.approx(2.0 * _noise_adu(data), rel=1e-3)
    assert 0.005 < np.mean(added > 0) < 0.2          # a ring or disc, not the frame
    with pytest.raises(ValueError, match="no strength sweep"):
        inject(data, "fog", 1.0, np.random.default_rng(1))


def test_threshold_is_not_set_by_the_two_most_extreme_normal_frames() -> None:
    from models.anomaly.multiscale import lognormal_threshold

    rng = np.random.default_rng(7)
    scores = np.exp(rng.normal(2.0, 0.1, 1000))
    true_q99 = np.exp(2.0 + 2.326 * 0.1)
    assert lognormal_threshold(scores, 0.01) == pytest.approx(true_q99, rel=0.03)
    empirical = np.quantile(scores, 0.99, method="higher")
    scores[:10] = 1e3                  # ten odd calibration frames (1 %)
    assert lognormal_threshold(scores, 0.01) == pytest.approx(true_q99, rel=0.03)
    assert np.quantile(scores, 0.99, method="higher") > 50 * empirical   # set by the odd ones
    assert lognormal_threshold(scores, 0.1) < lognormal_threshold(scores, 0.01)
