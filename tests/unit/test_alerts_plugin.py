"""The alert responder plugin: triggers, follow-up candidates, tiles, and what ends an alert."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from control_center.alerts import ingest
from control_center.clock import SimulatedClock
from control_center.eventlog import EventLog, stream_id
from control_center.events import ObservationCompleted, ObservationFailed
from control_center.network import load_network
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import decision_context
from plugins.alerts import AlertResponder
from plugins.alerts.responder import tile_weight
from simulator.alerts import voevent_xml
from simulator.horizon import HorizonFrame

DATA = Path(__file__).resolve().parents[1] / "data" / "alerts"
NOW = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
NETWORK = load_network()
SWIFT = "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1283461-259"


@pytest.fixture
def log(tmp_path: Path):
    with EventLog.open(tmp_path / "alerts.db", clock=SimulatedClock(NOW)) as opened:
        yield opened


class Responder:
    """The plugin behind a real plugin host (worker thread, return-value checks)."""

    def __init__(self, log, **options) -> None:
        self.log = log
        self.plugin = AlertResponder(**options)
        self.failures: list = []
        self.host = PluginHost.discover(enabled=[], extra={"alerts": self.plugin},
                                        on_failure=self.failures.append)

    def receive(self, payload, **kwargs):
        event = ingest(self.log, payload, network=NETWORK, sim_time=kwargs.pop("when", NOW),
                       **kwargs)
        self.host.notify("openastro_event", event=event)
        return event

    def trigger(self, event):
        return dict(self.host.call_all("openastro_trigger", event=event)).get("alerts")

    def propose(self, telescope: str = "pachon-1m", now: datetime = NOW):
        context = decision_context(telescope=telescope, now=now)
        [(name, candidates)] = self.host.call_all("openastro_propose", context=context)
        assert name == "alerts"
        return candidates

    def observed(self, request_id: str, filter_name: str, *, failed: bool = False):
        common = {"observation_id": str(uuid.uuid4()), "request_id": request_id,
                  "site": "cerro-pachon", "telescope": "pachon-1m", "filter": filter_name,
                  "started": NOW, "ended": NOW + timedelta(minutes=3)}
        with self.log.batch(actor="site:cerro-pachon", sim_time=NOW) as batch:
            if failed:
                event = batch.add(ObservationFailed, stream=uuid.uuid4(), reason="clouds",
                                  **common)
            else:
                event = batch.add(ObservationCompleted, stream=uuid.uuid4(), snr=50.0,
                                  seeing_arcsec=1.0, airmass=1.2, science_value=3.0,
                                  **common)
        self.host.notify("openastro_event", event=event)

    def close(self) -> None:
        self.host.close()
        assert self.failures == []


@pytest.fixture
def responder(log):
    r = Responder(log)
    yield r
    r.close()


def test_a_point_alert_wakes_telescopes_and_gets_one_candidate_per_filter(responder) -> None:
    event = responder.receive(DATA / "swift_bat_grb.xml")
    assert responder.trigger(event).startswith(
        "alert grb nasa.gsfc.gcn-SWIFT-BAT_GRB_Pos_1283461-259 (point")
    candidates = responder.propose("pachon-1m")
    assert [c.filter for c in candidates] == ["r", "i", "g"]
    c = candidates[0]
    assert c.request_id == "alert:nasa.gsfc.gcn-SWIFT-BAT_GRB_Pos_1283461-259"
    assert (c.kind, c.program, c.proposed_by) == ("followup", "alert:grb", "alerts")
    assert (c.ra_deg, c.dec_deg) == (event.ra_deg, event.dec_deg)
    assert c.exposure_s == 120.0
    assert c.not_after == event.issued + timedelta(hours=24)
    # 9.75 from importance 0.95, a little less 19 minutes after the notice
    assert 9.6 < c.priority < 9.75
    assert [c.filter for c in responder.propose("palma-1m")] == ["r", "i", "g"]


def test_observed_filters_are_not_proposed_again(responder) -> None:
    responder.receive(DATA / "swift_bat_grb.xml")
    request = responder.propose()[0].request_id
    responder.observed(request, "r")
    assert [c.filter for c in responder.propose()] == ["i", "g"]
    for _ in range(3):
        responder.observed(request, "i", failed=True)    # given up after 3 failures
    assert [c.filter for c in responder.propose()] == ["g"]
    responder.observed(request, "g")
    assert responder.propose() == []
    assert responder.plugin.ended() == {SWIFT: "observed in every wanted filter"}


def test_a_gravitational_wave_alert_proposes_the_tiles_up_now(responder) -> None:
    event = responder.receive(DATA / "lvk_S250115ab_preliminary.xml")
    assert "50 tiles" in responder.trigger(event)
    candidates = responder.propose("pachon-1m")
    short = event.short_id
    site = NETWORK.site("cerro-pachon")
    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, NOW)
    up = [k for k, (ra, dec, _) in enumerate(event.tiles) if frame.altaz(ra, dec, NOW)[0] >= 20]
    assert 0 < len(up) and len(candidates) == min(20, len(up))
    assert [c.request_id for c in candidates] == [f"alert:{short}:r1:t{k}" for k in up[:20]]
    assert {c.filter for c in candidates} == {"r"}
    for c, k in zip(candidates, up, strict=False):
        ra, dec, prob = event.tiles[k]
        assert (c.ra_deg, c.dec_deg) == (ra, dec)
        assert c.priority == pytest.approx(event.priority * tile_weight(prob), rel=0.01)
    responder.observed(candidates[3].request_id, "r")
    again = responder.propose("pachon-1m")
    assert candidates[3].request_id not in {c.request_id for c in again}
    assert len(again) == min(20, len(up) - 1)


def test_tiles_below_the_horizon_wait_for_later(responder) -> None:
    event = responder.receive(DATA / "lvk_S250115ab_preliminary.xml")
    # the map lies around ra 96, dec -28: below the horizon at Cerro Pachon at 15:00 UTC
    assert responder.propose("pachon-1m", now=datetime(2025, 1, 15, 15, tzinfo=UTC)) == []
    assert responder.propose("pachon-1m", now=datetime(2025, 1, 15, 2, tzinfo=UTC))
    assert event.observable


def test_a_revision_keeps_the_tiles_already_observed(responder) -> None:
    first = responder.receive(DATA / "igwn_S250115ab_preliminary.json")
    candidates = responder.propose()
    responder.observed(candidates[0].request_id, "r")
    responder.observed(candidates[1].request_id, "r")
    raw = json.loads((DATA / "igwn_S250115ab_preliminary.json").read_bytes())
    raw["alert_type"], raw["time_created"] = "UPDATE", "2025-01-15T02:55:00Z"
    update = responder.receive(json.dumps(raw).encode())
    assert update.revision == 2 and update.tiles == first.tiles    # same map, same cells
    after = responder.propose()
    assert all(":r2:" in c.request_id for c in after)
    done = {(c.ra_deg, c.dec_deg) for c in candidates[:2]}
    assert not done & {(c.ra_deg, c.dec_deg) for c in after}       # the observed two stay done
    assert [(c.ra_deg, c.dec_deg) for c in after[:18]] == \
        [(c.ra_deg, c.dec_deg) for c in candidates[2:20]]


def test_a_retraction_ends_the_alert(responder) -> None:
    responder.receive(DATA / "igwn_S250115ab_preliminary.json")
    assert responder.propose()
    retraction = responder.receive(DATA / "igwn_S250115ab_retraction.json")
    assert responder.trigger(retraction) is None
    assert responder.propose() == []
    assert responder.plugin.ended() == {"S250115ab": "retracted by S250115ab"}


def test_a_superseding_notice_replaces_the_first_and_keeps_its_observations(responder) -> None:
    bat = voevent_xml("ivo://test/swift#BAT-1", issued=NOW, ra_deg=101.25, dec_deg=-22.5,
                      error_deg=0.05, importance=0.9)
    responder.receive(bat)
    responder.observed(responder.propose()[0].request_id, "r")
    xrt = voevent_xml("ivo://test/swift#XRT-1", issued=NOW, ra_deg=101.27, dec_deg=-22.49,
                      error_deg=0.001, importance=0.95,
                      cites=[("supersedes", "ivo://test/swift#BAT-1")])
    responder.receive(xrt)
    candidates = responder.propose()
    assert {c.request_id for c in candidates} == {"alert:test-swift-XRT-1"}
    assert [c.filter for c in candidates] == ["i", "g"]       # r was done at the BAT position
    assert responder.plugin.ended()["ivo://test/swift#BAT-1"].startswith("superseded by")


def test_alerts_expire(log) -> None:
    responder = Responder(log, ttl_hours=1.0)
    try:
        responder.receive(DATA / "swift_bat_grb.xml")
        assert responder.propose(now=NOW + timedelta(minutes=30))
        late = responder.propose(now=NOW + timedelta(hours=2))
        assert late == []
        assert responder.plugin.active(NOW + timedelta(hours=2)) == []
        assert responder.plugin.active(NOW) == [SWIFT]
    finally:
        responder.close()


def test_tests_and_unobservable_alerts_are_not_followed(responder) -> None:
    test = voevent_xml("ivo://test/drill#1", issued=NOW, role="test", ra_deg=101.0,
                       dec_deg=-22.0, error_deg=0.01)
    event = responder.receive(test)
    assert event.role == "test" and responder.trigger(event) is None
    by_day = voevent_xml("ivo://test/sun#1", issued=NOW, ra_deg=296.5, dec_deg=-21.2,
                         error_deg=0.01)
    event = responder.receive(by_day)
    assert event.observable is False and responder.trigger(event) is None
    assert responder.propose() == []


def test_replayed_events_do_not_reset_what_was_observed(responder, log) -> None:
    event = responder.receive(DATA / "swift_bat_grb.xml")
    responder.observed(responder.propose()[0].request_id, "r")
    [replayed] = log.stream(stream_id("alert", SWIFT))
    responder.host.notify("openastro_event", event=replayed)
    assert replayed.digest == event.digest
    assert [c.filter for c in responder.propose()] == ["i", "g"]


def test_tile_weight_is_absolute() -> None:
    assert tile_weight(0.0) == pytest.approx(0.4)
    assert tile_weight(0.05) == tile_weight(0.5) == pytest.approx(1.0)
    assert tile_weight(0.0005) == pytest.approx(0.46)


def test_a_well_localised_alert_outranks_a_wide_skymap(responder) -> None:
    gw = responder.receive(DATA / "lvk_S250115ab_preliminary.xml")
    nu = responder.receive(DATA / "icecube_gold.xml")
    candidates = responder.propose("palma-1m")
    best = max(candidates, key=lambda c: c.priority)
    assert best.program == "alert:neutrino"
    assert gw.priority > nu.priority                 # even though the GW alert matters more


def test_a_point_that_never_rises_at_this_site_is_not_proposed_there(responder) -> None:
    far_north = voevent_xml("ivo://test/north#1", issued=NOW, ra_deg=140.0, dec_deg=75.0,
                            error_deg=0.01, importance=1.0)
    event = responder.receive(far_north)
    assert event.observable                                  # from La Palma and Hanle
    assert responder.propose("pachon-1m") == []              # culminates at 15 deg there
    assert [c.filter for c in responder.propose("palma-1m")] == ["r", "i", "g"]
