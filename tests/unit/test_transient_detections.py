"""TransientDetected from what a site found: the edge pipeline's vetted candidates (site
nodes) or the simulator's depth-limited detections (in-process sites); version 2 events."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from control_center.eventlog import EventLog
from control_center.events import TransientDetected
from control_center.network import load_network
from control_center.sites.detections import (
    edge_detections,
    simulated_detections,
    transient_detected_fields,
)
from control_center.sites.link import remote_observation
from control_center.sites.local import InProcessSiteLink
from simulator import SimulatedSite
from site_node.backends.base import ObservationCommand
from site_node.messages import analysis_to_pb, pb, timestamp, truth_to_pb

T0 = datetime(2026, 3, 21, 22, 0, tzinfo=UTC)


def _pipeline_result() -> dict:
    """What ``FrameResult.to_dict()`` gives for a frame with one vetted and one rejected
    candidate, and one kept by hand cuts on a frame without a zero point."""
    return {"frame": "f.fits", "zero_point": 25.1, "n_sources": 40, "anomaly_verdict": "normal",
            "transients": [
                {"ra": 150.01, "dec": 2.2, "x": 101.5, "y": 88.25, "flux": 900.0,
                 "flux_err": 40.0, "snr": 22.5, "mag": 18.37, "real_bogus": 0.9731,
                 "vetted": True, "hand_cuts": True},
                {"ra": 150.02, "dec": 2.21, "x": 40.0, "y": 41.0, "flux": 300.0,
                 "flux_err": 50.0, "snr": 6.0, "mag": None, "real_bogus": 0.8, "vetted": True,
                 "hand_cuts": True}],
            "rejected_transients": [
                {"ra": 150.03, "dec": 2.19, "x": 10.0, "y": 12.0, "flux": 500.0,
                 "flux_err": 40.0, "snr": 12.0, "mag": 19.0, "real_bogus": 0.01,
                 "vetted": False, "hand_cuts": False}]}


def _node_result(measured: dict | None) -> pb.ObservationResult:
    truth = {"snr": 80.0, "seeing_arcsec": 1.1, "airmass": 1.2, "science_value": 3.0,
             "detections": [{"ra_deg": 10.0, "dec_deg": -5.0, "mag": 17.0, "snr": 30.0,
                             "detector": "simulator", "name": "SN-x", "kind": "supernova"}]}
    result = pb.ObservationResult(observation_id="obs-1", site="la-palma", telescope="palma-1m",
                                  seq=3, has_frame=measured is not None, frame_sha256="ab" * 32)
    result.outcome.success = True
    result.outcome.start.CopyFrom(timestamp(T0))
    result.outcome.end.CopyFrom(timestamp(T0 + timedelta(minutes=2)))
    result.outcome.truth.CopyFrom(truth_to_pb(truth, None))
    if measured is not None:
        result.analysis.CopyFrom(analysis_to_pb(measured, pipeline="edge", latency_s=0.5))
    return result


def test_node_detections_are_the_vetted_candidates_never_the_simulator_truth() -> None:
    observation = remote_observation(_node_result(_pipeline_result()))
    # one vetted candidate with a magnitude; the rejected one and the one without a
    # zero point are not transients; the simulator's truth (RA 10) is ignored
    assert observation.detections == ({
        "ra_deg": 150.01, "dec_deg": 2.2, "mag": 18.37, "snr": 22.5, "detector": "edge",
        "score": 0.9731, "frame": "ab" * 32, "x_px": 101.5, "y_px": 88.25},)
    assert remote_observation(_node_result(None)).detections == ()


def test_hand_cut_candidates_have_no_score() -> None:
    measured = _pipeline_result()
    for c in measured["transients"]:
        for key in ("real_bogus", "vetted", "hand_cuts"):
            c.pop(key)
    (found,) = edge_detections(_node_result(measured))
    assert found["score"] is None and found["detector"] == "edge"


def test_a_failed_analysis_reports_nothing() -> None:
    result = _node_result({})
    result.analysis.CopyFrom(analysis_to_pb(_pipeline_result(), pipeline="edge",
                                            latency_s=0.1, error="FrameError: broken"))
    assert edge_detections(result) == ()


def test_event_fields_of_an_edge_detection() -> None:
    (found,) = edge_detections(_node_result(_pipeline_result()))
    fields = transient_detected_fields(found, observation_id="obs-1", site="la-palma",
                                       telescope="palma-1m", filter="r")
    assert fields == {"observation_id": "obs-1", "site": "la-palma", "telescope": "palma-1m",
                      "filter": "r", "ra_deg": 150.01, "dec_deg": 2.2, "mag": 18.37,
                      "snr": 22.5, "detector": "edge", "score": 0.9731, "frame": "ab" * 32,
                      "x_px": 101.5, "y_px": 88.25}
    # exactly the event's own fields
    assert set(fields) == {f.name for f in dataclasses.fields(TransientDetected)} - {
        "originator_id", "originator_version", "timestamp", "sim_time", "actor",
        "causation_id", "correlation_id"}


def test_simulated_detections_depend_on_depth_and_are_seeded() -> None:
    """In-process sites: a transient is found or not from its brightness against the
    exposure's limiting magnitude; the same seed finds the same ones."""
    site = load_network().site("la-palma")
    sim = SimulatedSite(site, 1, T0 - timedelta(hours=4), T0 + timedelta(hours=10))
    sky = sim.transients
    t = T0 + timedelta(hours=2)
    bright = [s for s in sky.active(t, filter="r", max_mag=17.5)][:40]
    assert bright, "the seeded sky has bright transients"
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    deep, deep_again, shallow = [], [], []
    for s in bright:
        args = (s.ra_deg, s.dec_deg, 0.3, "r", t)
        deep += sky.detections(*args, 21.0, rng_a)
        deep_again += sky.detections(*args, 21.0, rng_b)
        shallow += sky.detections(*args, 12.0, np.random.default_rng(5))
    assert deep and deep == deep_again
    assert not shallow   # too shallow an exposure finds none of them
    labelled = simulated_detections(deep)
    assert {d["detector"] for d in labelled} == {"simulated"}
    assert all("name" not in d and d["score"] is None for d in labelled)


def test_in_process_link_labels_its_detections_simulated() -> None:
    site = load_network().site("la-palma")
    sim = SimulatedSite(site, 1, T0 - timedelta(hours=4), T0 + timedelta(hours=10))
    t = T0 + timedelta(hours=2)
    target = next(s for s in sim.transients.active(t, filter="r", max_mag=17.0)
                  if sim.altaz(s.ra_deg, s.dec_deg, t)[0] > 40)
    link = InProcessSiteLink(sim)
    scope = site.telescopes[0].name
    link.submit(ObservationCommand(observation_id="o1", request_id="r", telescope=scope,
                                   ra_deg=target.ra_deg + 0.01, dec_deg=target.dec_deg,
                                   filter="r", exposure_s=120.0, target="x", priority=5.0,
                                   start=t, v_mag=15.0))
    observation = link.result("o1")
    assert observation.success
    assert observation.detections
    assert {d["detector"] for d in observation.detections} == {"simulated"}


def test_detection_at_the_observed_target_is_not_a_transient() -> None:
    found = {"ra_deg": 150.0, "dec_deg": 2.0, "mag": 15.0, "snr": 100.0, "detector": "edge"}
    common = {"observation_id": "o", "site": "s", "telescope": "t", "filter": "r"}
    assert transient_detected_fields(found, **common, target_ra_deg=150.0003,
                                     target_dec_deg=2.0) is None
    assert transient_detected_fields(found, **common, target_ra_deg=150.01,
                                     target_dec_deg=2.0) is not None
    # a follow-up looks at a transient on purpose: a re-detection at its target counts
    assert transient_detected_fields(found, **common, target_ra_deg=150.0003,
                                     target_dec_deg=2.0, followup=True) is not None


def test_a_version_1_record_loads_with_empty_new_fields(sqlite_url: str) -> None:
    with EventLog.open(sqlite_url) as log, log.batch(actor="site:s", sim_time=T0) as b:
        b.add(TransientDetected, stream=uuid.uuid4(), observation_id="o", site="s",
              telescope="t", filter="r", ra_deg=1.0, dec_deg=2.0, mag=18.0, snr=9.0,
              detector="simulator", score=0.5, frame="f", x_px=1.0, y_px=2.0)
    # rewrite it as a version 1 record (as a log written before version 2 holds it)
    con = sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///")))
    (rid, state), = con.execute("SELECT id, state FROM openastro_events").fetchall()
    body = json.loads(state[64:])
    assert body.pop("class_version") == 2
    for key in ("score", "frame", "x_px", "y_px"):
        body.pop(key)
    con.execute("UPDATE openastro_events SET state = ? WHERE id = ?",
                (state[:64] + json.dumps(body).encode(), rid))
    con.commit()
    con.close()
    with EventLog.open(sqlite_url) as log:
        (event,) = [r.event for r in log.read()]
    assert isinstance(event, TransientDetected)
    assert (event.detector, event.mag, event.score, event.frame, event.x_px, event.y_px) == \
        ("simulator", 18.0, None, "", None, None)
