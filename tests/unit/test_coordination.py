"""Multi-site coordination: simultaneous partners, relay hand-overs and the monitoring cadence."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from control_center.clock import FixedClock
from control_center.decision import DecisionLoop
from control_center.eventlog import EventLog
from control_center.events import ObservationAssigned, ObservationCompleted
from control_center.network import load_network
from control_center.plugin_api import QueuedRequest, Settings, TelescopeState
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import CLEAR, candidate, decision_context
from plugins import generator, greedy, value_formula
from plugins.coordination import Coordination, partner_id

NETWORK = load_network()
NOW = datetime(2026, 3, 21, 21, 0, tzinfo=UTC)
"""Hanle is 3 h past local midnight, La Palma 1.5 h into its night."""
_ids = itertools.count(1)

CAMPAIGN = QueuedRequest("campaign-V1", "campaign", "science", "V1", 165.0, 30.0, ("g", "r"),
                         120.0, 6.0, 4)
"""High at Hanle and at La Palma at NOW."""
SETTING_AT_HANLE = QueuedRequest("monitoring-V2", "monitoring", "science", "V2", 150.0, 20.0,
                                 ("r",), 30.0, 6.5, 10)
"""32 deg up at Hanle, below its 25 deg floor within the hour; 60 deg up and rising at La Palma."""
HIGH_AT_BOTH = QueuedRequest("monitoring-V3", "monitoring", "science", "V3", 165.0, 30.0,
                             ("r",), 30.0, 6.5, 10)
OTHER = QueuedRequest("galaxies-NGC1", "galaxies", "science", "NGC1", 165.0, 30.0, ("g", "r"),
                      120.0, 7.5, 1)


def event(cls, when: datetime = NOW, **fields):
    """A real event as the log would hand it to ``openastro_event``."""
    return cls(originator_id=uuid.UUID(int=next(_ids)), originator_version=1, timestamp=when,
               sim_time=when, actor="test", causation_id=None, correlation_id=None, **fields)


def assigned(request_id: str, telescope: str, site: str, filter: str = "g",
             start: datetime = NOW, seconds: float = 600.0):
    return event(ObservationAssigned, start, observation_id=f"o{next(_ids)}",
                 request_id=request_id, site=site, telescope=telescope, target="T",
                 ra_deg=0.0, dec_deg=0.0, filter=filter, exposure_s=seconds,
                 expected_start=start, expected_end=start + timedelta(seconds=seconds),
                 expected_value=1.0)


def completed(request_id: str, telescope: str, site: str, started: datetime):
    return event(ObservationCompleted, started + timedelta(minutes=1),
                 observation_id=f"o{next(_ids)}", request_id=request_id, site=site,
                 telescope=telescope, filter="r", started=started,
                 ended=started + timedelta(minutes=1), snr=50.0, seeing_arcsec=1.0, airmass=1.2,
                 science_value=5.0)


def context(telescope: str, *, busy: dict[str, str] | None = None, queue=(CAMPAIGN,),
            now: datetime = NOW, conditions=None, offline=()):
    """A decision at ``telescope``; ``busy``: telescope -> request id it is observing."""
    base = decision_context(telescope=telescope, now=NOW, queue=queue)
    busy = busy or {}
    telescopes = {t.name: TelescopeState(s, t, None, None, None, busy.get(t.name),
                                         NOW + timedelta(minutes=10) if t.name in busy else None)
                  for s, t in NETWORK.telescopes()}
    conditions = {s.name: CLEAR for s in NETWORK.sites} | (conditions or {})
    return replace(base, now=now, telescopes=telescopes, conditions_by_site=conditions,
                   conditions=conditions[base.telescope.site.name],
                   offline_sites=frozenset(offline),
                   busy_targets={t: r for t, r in busy.items()})


@pytest.fixture
def plugin():
    p = Coordination()
    p.openastro_night_started(decision_context(now=NOW).night)
    return p


def proposed(plugin, ctx):
    return {c.key: c for c in plugin.openastro_propose(ctx)}


# -- simultaneous observations ---------------------------------------------------------------

def test_partners_are_proposed_at_the_other_sites_while_the_primary_observes(plugin):
    plugin.openastro_event(assigned("campaign-V1", "hanle-0.7m", "hanle", "g",
                                    NOW - timedelta(minutes=2)))
    busy = {"hanle-0.7m": "campaign-V1"}
    at_palma = proposed(plugin, context("palma-1m", busy=busy))
    assert set(at_palma) == {"campaign-V1@la-palma/g", "campaign-V1@la-palma/r"}
    partner = at_palma["campaign-V1@la-palma/r"]
    assert partner.request_id == partner_id("campaign-V1", "la-palma")
    assert (partner.target, partner.ra_deg, partner.dec_deg) == ("V1", 165.0, 30.0)
    assert partner.priority == 9.0            # the other colour: the whole boost
    assert at_palma["campaign-V1@la-palma/g"].priority == 7.5
    assert partner.proposed_by == "coordination"
    assert partner.not_after == NOW + timedelta(minutes=10, seconds=120 + 120)
    at_pachon = proposed(plugin, context("pachon-0.4m", busy=busy))
    assert {c.request_id for c in at_pachon.values()} == {"campaign-V1@cerro-pachon"}


def test_no_partner_at_the_primarys_own_site_or_without_a_primary(plugin):
    assert proposed(plugin, context("pachon-0.4m", busy={"pachon-1m": "campaign-V1"})) == {}
    assert proposed(plugin, context("palma-1m")) == {}
    assert proposed(plugin, context("palma-1m", busy={"hanle-0.7m": "galaxies-NGC1"},
                                    queue=(CAMPAIGN, OTHER))) == {}
    closed = replace(CLEAR, open=False, reason="wind")
    assert proposed(plugin, context("palma-1m", busy={"hanle-0.7m": "campaign-V1"},
                                    conditions={"la-palma": closed})) == {}


def test_one_partner_per_primary_exposure(plugin):
    plugin.openastro_event(assigned("campaign-V1", "hanle-0.7m", "hanle", "g",
                                    NOW - timedelta(minutes=6)))
    plugin.openastro_event(assigned("campaign-V1@la-palma", "palma-1m", "la-palma", "r",
                                    NOW - timedelta(minutes=5), seconds=120.0))
    busy = {"hanle-0.7m": "campaign-V1"}
    assert proposed(plugin, context("palma-1m", busy=busy)) == {}
    assert proposed(plugin, context("pachon-1m", busy=busy))       # the third site still may
    # Busy with the partner already: nothing more at that site.
    busy_partner = busy | {"pachon-1m": "campaign-V1@cerro-pachon"}
    assert proposed(plugin, context("pachon-0.4m", busy=busy_partner)) == {}
    # The primary's next exposure: La Palma is asked again.
    plugin.openastro_event(assigned("campaign-V1", "hanle-0.7m", "hanle", "r", NOW))
    assert set(proposed(plugin, context("palma-1m", busy=busy))) == {
        "campaign-V1@la-palma/g", "campaign-V1@la-palma/r"}


# -- relay coverage --------------------------------------------------------------------------

RELAY_QUEUE = (SETTING_AT_HANLE, HIGH_AT_BOTH)


def test_a_monitoring_request_is_handed_from_the_setting_site_to_the_rising_one(plugin):
    for request in RELAY_QUEUE:
        plugin.openastro_event(completed(request.request_id, "hanle-0.7m", "hanle",
                                         NOW - timedelta(minutes=25)))
    at_palma = proposed(plugin, context("palma-1m", queue=RELAY_QUEUE))
    assert set(at_palma) == {"monitoring-V2/r"}      # Hanle keeps V3: it is still high there
    relay = at_palma["monitoring-V2/r"]
    assert relay.priority == 8.5 and relay.proposed_by == "coordination"


def test_no_hand_over_back_to_the_same_site_or_to_a_site_that_cannot_continue(plugin):
    plugin.openastro_event(completed("monitoring-V2", "palma-1m", "la-palma",
                                     NOW - timedelta(minutes=25)))
    assert proposed(plugin, context("palma-1m", queue=RELAY_QUEUE)) == {}
    # Pachon (Chile) does not see the target for the next hour: it cannot take over.
    plugin.openastro_event(completed("monitoring-V2", "hanle-0.7m", "hanle",
                                     NOW - timedelta(minutes=20)))
    assert proposed(plugin, context("pachon-1m", queue=RELAY_QUEUE)) == {}


def test_a_closed_site_hands_over_even_a_target_it_still_sees(plugin):
    plugin.openastro_event(completed("monitoring-V3", "hanle-0.7m", "hanle",
                                     NOW - timedelta(minutes=25)))
    closed = replace(CLEAR, open=False, reason="clouds")
    assert set(proposed(plugin, context("palma-1m", queue=RELAY_QUEUE,
                                        conditions={"hanle": closed}))) == {"monitoring-V3/r"}
    assert set(proposed(plugin, context("palma-1m", queue=RELAY_QUEUE,
                                        offline={"hanle"}))) == {"monitoring-V3/r"}


def test_the_cadence_holds_monitoring_back_wherever_the_last_exposure_was(plugin):
    plugin.openastro_event(completed("monitoring-V2", "hanle-0.7m", "hanle",
                                     NOW - timedelta(minutes=10)))
    c = candidate("monitoring-V2", program="monitoring", ra_deg=150.0, dec_deg=20.0)
    other = candidate("galaxies-NGC1", program="galaxies")
    rejections = plugin.openastro_filter(context("palma-1m", queue=RELAY_QUEUE), [c, other])
    assert [(r.candidate, r.constraint, r.value, r.limit) for r in rejections] == [
        ("monitoring-V2/r", "cadence", 10.0, 20.0)]
    later = context("palma-1m", queue=RELAY_QUEUE, now=NOW + timedelta(minutes=11))
    assert plugin.openastro_filter(later, [c, other]) == []


def test_the_boosted_relay_candidate_wins_the_decision(tmp_path):
    """Queue and coordination propose the same key; the loop keeps coordination's boost."""
    plugin = Coordination()
    settings = Settings(policy="greedy", scorer="value-formula")
    host = PluginHost.discover(enabled=[], extra={
        "coordination": plugin, "queue": generator, "value-formula": value_formula,
        "greedy": greedy})
    rival = replace(OTHER, ra_deg=150.0, dec_deg=20.0, exposure_s=30.0, filters=("r",))
    ctx = context("palma-1m", queue=(SETTING_AT_HANLE, rival))   # 7.5 beats 6.5, not 8.5
    host.notify("openastro_night_started", night=ctx.night)
    plugin.openastro_event(completed("monitoring-V2", "hanle-0.7m", "hanle",
                                     NOW - timedelta(minutes=25)))
    with host, EventLog.open(tmp_path / "log.db", clock=FixedClock(NOW)) as log:
        loop = DecisionLoop(host, log, settings, seed=1)
        decision = loop.decide(now=NOW, trigger="test", night=ctx.night, telescope=ctx.telescope,
                               conditions_by_site=ctx.conditions_by_site, queue=ctx.queue,
                               busy_targets={}, telescopes=ctx.telescopes)
    assert decision.chosen.request_id == "monitoring-V2"
    assert decision.chosen.priority == 8.5 and decision.chosen.proposed_by == "coordination"


# -- speed -----------------------------------------------------------------------------------

def test_coordination_is_cheap_with_two_thousand_requests(plugin):
    rng = np.random.default_rng(2)
    queue = [QueuedRequest(f"{program}-{i}", program, "science", f"T{i}",
                           float(rng.uniform(0, 360)), float(rng.uniform(-60, 70)), ("r",),
                           60.0, 5.0, 10)
             for i, program in enumerate(["monitoring"] * 200 + ["campaign"] * 100
                                         + ["galaxies"] * 1700)]
    for r in queue[:200]:
        plugin.openastro_event(completed(r.request_id, "hanle-0.7m", "hanle",
                                         NOW - timedelta(minutes=30)))
    busy = {"hanle-0.7m": "campaign-200", "pachon-1m": "campaign-201"}
    ctx = context("palma-1m", queue=queue, busy=busy)
    candidates = [candidate(r.request_id, program=r.program, ra_deg=r.ra_deg, dec_deg=r.dec_deg)
                  for r in queue]
    seconds = []
    for _ in range(20):
        started = time.perf_counter()
        out = plugin.openastro_propose(ctx)
        plugin.openastro_filter(ctx, candidates)
        seconds.append(time.perf_counter() - started)
    assert {c.request_id for c in out} >= {"campaign-200@la-palma", "campaign-201@la-palma"}
    assert any(c.program == "monitoring" for c in out)
    assert np.median(seconds) < 0.010
