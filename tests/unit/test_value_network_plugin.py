"""The value-network scorer: the shipped ensemble scores every candidate, robust to weather."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from control_center.plugin_api import Settings
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import CLEAR, candidate, decision_context
from plugins.value_network import NAME, ValueNetworkScorer, weather_scenarios

NOW = datetime(2026, 3, 21, 21, 0, tzinfo=UTC)
SETTINGS = Settings(scorer=NAME)
UP = (165.0, 30.0)
"""High above Hanle at NOW."""


def _candidates():
    return [candidate("bright", ra_deg=UP[0], dec_deg=UP[1], exposure_s=30.0, priority=6.0),
            candidate("long", ra_deg=UP[0], dec_deg=UP[1], exposure_s=300.0, priority=6.0),
            candidate("low-priority", ra_deg=UP[0], dec_deg=UP[1], exposure_s=30.0,
                      priority=2.0)]


def _score(conditions=CLEAR, settings=SETTINGS, plugin=None, seed=0):
    ctx = decision_context(telescope="hanle-0.7m", now=NOW, conditions=conditions,
                           settings=settings, seed=seed)
    plugin = plugin or ValueNetworkScorer()
    with PluginHost.discover(enabled=[], extra={NAME: plugin}) as host:
        answer = host.call_first("openastro_score", context=ctx, candidates=_candidates())
    return None if answer is None else {s.candidate: s for s in answer[1]}


def test_scores_every_candidate_with_a_positive_sigma():
    scores = _score()
    assert set(scores) == {c.key for c in _candidates()}
    assert all(s.sigma > 0 and s.value >= 0 for s in scores.values())
    assert scores["bright/r"].value > scores["low-priority/r"].value   # priority counts


def test_answers_only_when_it_is_the_run_scorer():
    assert _score(settings=Settings(scorer="value-formula")) is None


def test_clouds_lower_the_expected_value_and_raise_the_doubt():
    clear, cloudy = _score(), _score(replace(CLEAR, cloud_cover=0.6))
    for key in clear:
        assert cloudy[key].value < clear[key].value
    assert cloudy["long/r"].sigma / cloudy["long/r"].value > \
        clear["long/r"].sigma / clear["long/r"].value


def test_scores_are_reproducible_from_the_decision_seed():
    assert _score(seed=5) == _score(seed=5)


def test_weather_scenarios_follow_the_cloud_trend():
    from models.scheduler.features import VALUE_FEATURES

    x = np.zeros((2, len(VALUE_FEATURES)), np.float32)
    cloud = VALUE_FEATURES.index("cloud cover")
    trend = VALUE_FEATURES.index("cloud change over the last 30 min")
    x[:, cloud] = 0.3
    x[:, trend] = 0.2
    rng = np.random.default_rng(0)
    s = weather_scenarios(x, 64, rng)
    assert s.shape == (64, 2, len(VALUE_FEATURES))
    assert np.all(s[0] == x)                                   # persistence first
    assert s[1:, :, cloud].mean() > 0.3 + 0.05                 # clouds are coming
    assert np.all((s[..., cloud] >= 0) & (s[..., cloud] <= 1))


def test_robust_value_is_the_mean_over_scenarios():
    plugin = ValueNetworkScorer(scenarios=6)
    ctx = decision_context(telescope="hanle-0.7m", now=NOW, conditions=CLEAR,
                           settings=SETTINGS, seed=3)
    from models.scheduler.decision_features import value_inputs

    expected, _ = plugin.robust_values(ctx, _candidates())
    x = value_inputs(ctx, _candidates(), plugin.memory)
    xs = weather_scenarios(x, 6, np.random.default_rng(3)).reshape(-1, x.shape[1])
    mean, _ = plugin.model.predict(xs)
    assert expected == pytest.approx(np.maximum(mean.reshape(6, -1), 0).mean(0), rel=1e-6)


def test_coming_clouds_lower_the_robust_value():
    from datetime import timedelta

    from control_center.network import load_network

    thin = replace(CLEAR, cloud_cover=0.35)
    ctx = decision_context(telescope="hanle-0.7m", now=NOW, conditions=thin,
                           settings=SETTINGS, seed=2)
    plugin = ValueNetworkScorer(scenarios=16)
    steady = ValueNetworkScorer(scenarios=16)
    earlier = {s.name: CLEAR for s in load_network().sites}
    plugin.memory.see(NOW - timedelta(minutes=40), earlier)     # clear 40 min ago
    steady.memory.see(NOW - timedelta(minutes=40), ctx.conditions_by_site)
    coming, _ = plugin.robust_values(ctx, _candidates())
    stays, _ = steady.robust_values(ctx, _candidates())
    assert np.all(coming < stays)
