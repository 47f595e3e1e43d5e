"""The priority-scheduler policy: astroplan's PriorityScheduler per telescope, cached."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from control_center.network import load_network
from control_center.plugin_api import NightPlan, Score, Settings
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import CLEAR, candidate, decision_context
from plugins import greedy
from plugins.priority_scheduler import PrioritySchedulerPolicy, SchedulerSettings, plan_blocks

NETWORK = load_network()
NOW = datetime(2026, 3, 21, 23, 0, tzinfo=UTC)
"""Local sidereal time at La Palma ~9.9 h (RA ~148 deg on the meridian)."""
POLICY = Settings(policy="priority-scheduler")

SETTING = candidate("setting", ra_deg=87.8, dec_deg=20.0, exposure_s=120.0)
"""4 h past the meridian at La Palma (alt ~35 deg): below the 20 deg floor in ~1.2 h."""
SETTING_TOO = candidate("setting-too", ra_deg=102.8, dec_deg=20.0, exposure_s=120.0)
RISING = candidate("rising", ra_deg=192.8, dec_deg=20.0, exposure_s=120.0)
"""3 h before the meridian (alt ~48 deg): best observed later."""
NEVER_UP = candidate("south-pole", ra_deg=150.0, dec_deg=-80.0, exposure_s=60.0)


def scored(*pairs):
    return [c for c, _ in pairs], [Score(c.key, v, 0.1) for c, v in pairs]


@pytest.fixture
def policy():
    return PrioritySchedulerPolicy()


@pytest.fixture
def host(policy):
    with PluginHost.discover(enabled=[], extra={"priority-scheduler": policy,
                                                "greedy": greedy}) as host:
        host.configure(POLICY, NETWORK)
        context = decision_context(telescope="palma-1m", now=NOW, settings=POLICY)
        host.notify("openastro_night_started", night=context.night)
        yield host


def choose(host, candidates, scores, *, now=NOW, settings=POLICY, conditions=CLEAR,
           telescope="palma-1m", night: NightPlan | None = None):
    context = decision_context(telescope=telescope, now=NOW, settings=settings,
                               conditions=conditions)
    context = replace(context, now=now, night=night or context.night)   # one night throughout
    answer = host.call_first("openastro_choose", context=context, candidates=candidates,
                             scores=scores)
    return None if answer is None else answer


def test_answers_only_when_configured(host, policy):
    candidates, scores = scored((SETTING, 5.0), (RISING, 6.0))
    plugin, choice = choose(host, candidates, scores, settings=Settings(policy="greedy"))
    assert plugin == "greedy"
    assert policy.timings == []
    plugin, choice = choose(host, candidates, scores)
    assert plugin == "priority-scheduler"
    assert choice.reason.startswith("astroplan PriorityScheduler: first scheduled block starts")
    assert len(policy.timings) == 1


def test_a_setting_target_goes_first_even_when_a_rising_one_scores_higher(host):
    candidates, scores = scored((SETTING, 5.0), (RISING, 6.0))
    _, greedy_choice = choose(host, candidates, scores, settings=Settings(policy="greedy"))
    assert greedy_choice.candidate == RISING.key
    _, choice = choose(host, candidates, scores)
    assert choice.candidate == SETTING.key
    assert "starts 23:00 UTC" in choice.reason and "setting in r" in choice.reason


def test_the_plan_puts_the_rising_target_near_its_meridian():
    site = NETWORK.site("la-palma")
    blocks = plan_blocks(site, site.telescopes[0], [RISING, SETTING], NOW,
                         NOW + timedelta(hours=6))
    start = {b.key: b.start for b in blocks}
    assert start[SETTING.key] == NOW
    assert timedelta(hours=2) <= start[RISING.key] - NOW <= timedelta(hours=4)
    assert all(b.end > b.start for b in blocks)


def test_the_plan_is_reused_while_nothing_changes(host, policy):
    candidates, scores = scored((SETTING, 5.0), (SETTING_TOO, 4.0), (RISING, 6.0))
    _, first = choose(host, candidates, scores)
    assert first.candidate == SETTING.key and policy.timings[-1].how == "planned"
    # Five minutes on, the first block done: the next block of the same plan.
    later = NOW + timedelta(minutes=5)
    candidates, scores = scored((SETTING_TOO, 4.0), (RISING, 6.0))
    _, second = choose(host, candidates, scores, now=later)
    assert second.candidate == SETTING_TOO.key
    assert policy.timings[-1].how == "cached"
    assert "plan of 23:00 UTC, block 2" in second.reason
    assert policy.timings[-1].seconds < policy.timings[0].seconds


def test_new_conditions_or_better_work_make_a_new_plan(host, policy):
    candidates, scores = scored((SETTING, 5.0), (SETTING_TOO, 4.0), (RISING, 6.0))
    choose(host, candidates, scores)
    choose(host, candidates[1:], scores[1:], now=NOW + timedelta(minutes=5),
           conditions=replace(CLEAR, seeing_arcsec=2.0))
    assert policy.timings[-1].how == "planned"
    urgent = candidate("urgent", ra_deg=140.0, dec_deg=25.0, exposure_s=60.0)
    candidates, scores = scored((SETTING_TOO, 4.0), (RISING, 6.0), (urgent, 9.0))
    _, choice = choose(host, candidates, scores, now=NOW + timedelta(minutes=10),
                       conditions=replace(CLEAR, seeing_arcsec=2.0))
    assert policy.timings[-1].how == "planned"
    assert choice.candidate in {SETTING_TOO.key, urgent.key}


def test_the_choice_is_always_a_feasible_candidate(host):
    candidates, scores = scored((SETTING, 5.0), (RISING, 6.0), (SETTING_TOO, 4.0))
    for minutes in (0, 30, 60, 120):
        _, choice = choose(host, candidates, scores, now=NOW + timedelta(minutes=minutes))
        assert choice.candidate in {c.key for c in candidates}


def test_says_so_when_astroplan_places_nothing(host, policy):
    candidates, scores = scored((NEVER_UP, 3.0))
    _, choice = choose(host, candidates, scores)
    assert choice.candidate == NEVER_UP.key
    assert "placed none of 1 blocks" in choice.reason
    assert "highest expected value 3.00" in choice.reason
    assert policy.timings[-1].how == "nothing-scheduled"


def test_no_answer_outside_the_sites_dark_time(host):
    context = decision_context(telescope="palma-1m", now=NOW, settings=POLICY)
    dusk = NOW + timedelta(hours=1)
    night = replace(context.night, dark={**context.night.dark,
                                         "la-palma": ((dusk, dusk + timedelta(hours=6)),)})
    candidates, scores = scored((SETTING, 5.0))
    assert choose(host, candidates, scores, night=night) is None


def test_the_plan_is_bounded_to_the_best_scored_candidates(host, policy):
    many = [candidate(f"c{i}", ra_deg=100.0 + 4 * i, dec_deg=15.0, exposure_s=60.0)
            for i in range(40)]
    candidates, scores = scored(*[(c, 1.0 + i / 10) for i, c in enumerate(many)])
    _, choice = choose(host, candidates, scores)
    best = {s.candidate for s in sorted(scores, key=lambda s: -s.value)[:10]}
    assert choice.candidate in best
    assert "of 10 blocks placed" in choice.reason
    assert policy.timings[-1].seconds < 2.0   # the plugin time budget


def test_settings_are_checked():
    with pytest.raises(ValueError, match="max_blocks"):
        SchedulerSettings(max_blocks=0)


def test_short_blocks_do_not_trip_astroplans_occupied_slot_bug():
    """Three 20 s exposures at Hanle: one-step blocks made astroplan raise (issue #368)."""
    site = NETWORK.site("hanle")
    start = datetime(2026, 3, 21, 18, 10, tzinfo=UTC)
    short = [candidate("r0", ra_deg=186.54, dec_deg=56.53, exposure_s=20.0, filter="g"),
             candidate("r1", ra_deg=243.32, dec_deg=11.83, exposure_s=20.0, filter="r"),
             candidate("r2", ra_deg=175.03, dec_deg=47.94, exposure_s=20.0, filter="i")]
    blocks = plan_blocks(site, site.telescopes[0], short, start, start + timedelta(hours=1))
    assert {b.key for b in blocks} == {c.key for c in short}
    assert all(a.end <= b.start for a, b in itertools.pairwise(blocks))


def test_an_astroplan_failure_is_explained_not_hidden(host, policy, monkeypatch):
    import plugins.priority_scheduler.policy as module

    def broken(*args, **kwargs):
        raise ValueError("block already occupied")

    monkeypatch.setattr(module, "plan_blocks", broken)
    candidates, scores = scored((SETTING, 5.0), (RISING, 6.0))
    plugin, choice = choose(host, candidates, scores)
    assert plugin == "priority-scheduler" and choice.candidate == RISING.key
    assert "astroplan failed: block already occupied" in choice.reason
