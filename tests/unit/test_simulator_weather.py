"""Weather model: determinism, climate statistics, dome limits, reported changes."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from control_center.network import Climate, Network, load_network
from simulator import SimulatedNetwork
from simulator.weather import LIMITS, WeatherModel, _cloudy_weight, hours_since_dew_onset

START = datetime(2026, 3, 21, 18, tzinfo=UTC)
END = START + timedelta(hours=10)


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network()


def _arrays(w: WeatherModel) -> list[np.ndarray]:
    return [w.cloud_cover, w.seeing_arcsec, w.humidity, w.wind_m_s, w.sky_v_mag_arcsec2]


def test_same_seed_same_weather(network):
    site = network.sites[0]
    a, b = WeatherModel(site, 7, START, END), WeatherModel(site, 7, START, END)
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.changes() == b.changes()
    assert a.conditions(START + timedelta(minutes=77)) == b.conditions(START + timedelta(minutes=77))


def test_different_seed_different_weather(network):
    site = network.sites[0]
    a, b = WeatherModel(site, 7, START, END), WeatherModel(site, 8, START, END)
    assert not np.array_equal(a.seeing_arcsec, b.seeing_arcsec)
    assert not np.array_equal(a.wind_m_s, b.wind_m_s)


def test_sites_are_seeded_by_name_so_adding_a_site_changes_nothing(network):
    full = SimulatedNetwork(network, 3, START, END)
    alone = SimulatedNetwork(replace(network, sites=network.sites[1:2]), 3, START, END)
    name = network.sites[1].name
    np.testing.assert_array_equal(full[name].weather.seeing_arcsec,
                                  alone[name].weather.seeing_arcsec)
    np.testing.assert_array_equal(full[name].weather.cloud_cover, alone[name].weather.cloud_cover)
    assert not np.array_equal(full[network.sites[0].name].weather.seeing_arcsec,
                              full[name].weather.seeing_arcsec[:len(full[name].weather.times_s)])


@pytest.mark.parametrize("index", [0, 1, 2])
def test_climate_statistics_over_many_nights(network, index):
    site = network.sites[index]
    models = [WeatherModel(site, seed, START, END) for seed in range(300)]
    clear = np.mean([m.clear_fraction() for m in models])
    assert clear == pytest.approx(site.climate.clear_night_fraction, abs=0.05)
    seeing = np.median(np.concatenate([m.seeing_arcsec for m in models]))
    assert seeing == pytest.approx(site.climate.median_seeing_arcsec, rel=0.06)
    wind = np.median(np.concatenate([m.wind_m_s for m in models]))
    assert wind == pytest.approx(site.climate.median_wind_m_s, rel=0.1)


def test_clear_fraction_follows_the_climate(network):
    site = network.sites[0]
    for p in (0.3, 0.9):
        s = replace(site, climate=replace(site.climate, clear_night_fraction=p))
        clear = np.mean([WeatherModel(s, k, START, END).clear_fraction() for k in range(300)])
        assert clear == pytest.approx(p, abs=0.06)


def _mean_spell_hours(persistence_h: float, p_clear: float, seed: int) -> tuple[float, float]:
    step = 300.0
    w = _cloudy_weight(np.random.default_rng(seed), 40_000, step, p_clear, persistence_h * 3600.0)
    cloudy = w > 0.5
    spells = np.count_nonzero(np.diff(cloudy.astype(int))) + 1
    return len(w) * step / 3600.0 / spells, float(np.mean(~cloudy))


def test_mean_spell_length_follows_the_persistence():
    # Smoothing merges a few very short spells, so observed spells run a little long.
    short, clear_short = _mean_spell_hours(2.0, 0.7, 0)
    long, clear_long = _mean_spell_hours(8.0, 0.7, 1)
    assert short == pytest.approx(2.0, rel=0.3)
    assert long == pytest.approx(8.0, rel=0.3)
    assert clear_short == pytest.approx(0.7, abs=0.03)
    assert clear_long == pytest.approx(0.7, abs=0.05)


def test_seeing_is_correlated_on_hour_scales(network):
    lag = 12  # one hour at 5-minute steps
    corr = []
    for seed in range(8):
        w = WeatherModel(network.sites[1], seed, START, START + timedelta(hours=48))
        x = np.log(w.seeing_arcsec) - np.log(network.sites[1].climate.median_seeing_arcsec)
        corr.append(np.sum(x[:-lag] * x[lag:]) / np.sum(x * x))
        step = np.abs(np.diff(x))
        assert np.median(step) < 0.15  # 5 minutes apart: similar seeing
    assert 0.35 < np.mean(corr) < 0.8  # expected ~0.56


def test_dome_closes_beyond_limits_with_reason(network):
    site = network.sites[2]
    humid = replace(site, climate=replace(site.climate, median_humidity=0.97))
    c = WeatherModel(humid, 1, START, END).conditions(START + timedelta(hours=3))
    assert not c.open
    assert "humidity" in c.reason and "> 0.85" in c.reason
    windy = replace(site, climate=replace(site.climate, median_wind_m_s=40.0, median_humidity=0.1))
    c = WeatherModel(windy, 1, START, END).conditions(START + timedelta(hours=3))
    assert not c.open and "wind" in c.reason
    cloudy = replace(site, climate=replace(site.climate, clear_night_fraction=0.0,
                                           median_humidity=0.05, median_wind_m_s=1.0))
    c = WeatherModel(cloudy, 1, START, END).conditions(START + timedelta(hours=3))
    assert not c.open and c.reason.startswith("cloud cover") and c.cloud_cover > 0.7


def test_open_matches_limits_on_the_grid(network):
    for seed in range(20):
        w = WeatherModel(network.sites[2], seed, START, END)
        for i, t in enumerate(w.times_s):
            c = w.conditions(float(t))
            beyond = (c.cloud_cover > LIMITS["cloud_cover"] or c.humidity > LIMITS["humidity"]
                      or c.wind_m_s > LIMITS["wind_m_s"])
            if beyond:
                assert not c.open
            if not c.open:
                assert c.reason
            assert c.cloud_cover == w.cloud_cover[i]


def test_conditions_interpolate_between_grid_points(network):
    w = WeatherModel(network.sites[0], 1, START, END)
    t = START + timedelta(seconds=150)
    c = w.conditions(t)
    assert c.seeing_arcsec == pytest.approx(np.mean(w.seeing_arcsec[:2]))
    assert w.conditions(START - timedelta(hours=5)) == w.conditions(START)


def test_changes_report_flips_and_big_changes(network):
    w = WeatherModel(network.sites[2], 4, START, END)
    changes = w.changes(min_interval_s=600)
    assert changes[0][0] == START
    times = [t for t, _ in changes]
    assert times == sorted(times)
    for (t0, a), (t1, b) in itertools.pairwise(changes):
        flipped = a.open != b.open
        big = (abs(b.seeing_arcsec - a.seeing_arcsec) > 0.2 * a.seeing_arcsec
               or abs(b.cloud_cover - a.cloud_cover) > 0.2)
        assert flipped or (big and (t1 - t0).total_seconds() >= 600)
    # every open/closed flip on the grid is reported
    grid_open = [w.conditions(float(t)).open for t in w.times_s]
    assert sum(x != y for x, y in itertools.pairwise(grid_open)) == sum(
        a.open != b.open for (_, a), (_, b) in itertools.pairwise(changes))


def test_humidity_rises_after_dew_onset(network):
    site = network.site("hanle")  # dew at 03:00 local mean time (~21:44 UTC)
    onset = datetime(2026, 3, 21, 21, 44, tzinfo=UTC)
    assert hours_since_dew_onset(site, onset - timedelta(hours=1)) == 0.0
    assert hours_since_dew_onset(site, onset + timedelta(hours=2)) == pytest.approx(2.0, abs=0.05)
    dry = replace(site, effects=replace(site.effects, dew_onset_local_hour=None))
    before, after = [], []
    for seed in range(40):
        wet = WeatherModel(site, seed, START, END)
        ref = WeatherModel(dry, seed, START, END)
        i_before, i_after = 24, 60  # 20:00 and 23:00 UTC
        before.append(wet.humidity[i_before] - ref.humidity[i_before])
        after.append(wet.humidity[i_after] - ref.humidity[i_after])
    assert np.allclose(before, 0.0)
    assert np.mean(after) > 0.1


def test_zenith_sky_is_dark_at_night_and_bright_by_day(network):
    site = network.site("la-palma")
    w = WeatherModel(site, 1, START, END)
    midnight = w.conditions(datetime(2026, 3, 22, 1, tzinfo=UTC))  # new moon on 2026-03-19
    assert midnight.sky_v_mag_arcsec2 == pytest.approx(site.climate.dark_sky_v_mag_arcsec2,
                                                       abs=0.3)
    assert w.conditions(START).sky_v_mag_arcsec2 < 12.0  # 18:00 UTC, sun up


def test_rejects_bad_spans(network):
    with pytest.raises(ValueError):
        WeatherModel(network.sites[0], 1, END, START)
    assert isinstance(Climate(0.5, 1.0), Climate)
