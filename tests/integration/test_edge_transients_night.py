"""A transient in a site node's frame reaches the log as TransientDetected(detector="edge")."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from astropy.io import fits

from control_center.eventlog import EventLog
from control_center.events import ObservationAssigned, ObservationCompleted, TransientDetected
from control_center.network import load_network
from control_center.night import NightRun
from control_center.plugin_api import Settings
from control_center.plugin_api.types import QueuedRequest
from control_center.plugin_host import PluginHost
from control_center.sites.link import GrpcSiteLink
from control_center.sites.processes import LocalSiteNodes
from simulator import SimulatedSite

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SEED, HOURS, SITE = 5, 0.4, "la-palma"
START = datetime(2026, 3, 21, 22, 30, tzinfo=UTC)


def _field_overhead(site) -> tuple[float, float]:
    """A field high in the sky mid-night (few bright stars would do, any will)."""
    sim = SimulatedSite(site, SEED, START, START + timedelta(hours=1))
    t = START + timedelta(minutes=15)
    best = max(((ra, dec) for ra in np.arange(0.0, 360.0, 5.0) for dec in (20.0, 30.0, 40.0)),
               key=lambda p: sim.altaz(p[0], p[1], t)[0])
    return float(best[0]), float(best[1])


def test_injected_transients_found_at_the_node_are_recorded_as_edge(tmp_path) -> None:
    network = load_network()
    site = network.site(SITE)
    network = dataclasses.replace(network, sites=(site,))
    ra, dec = _field_overhead(site)
    request = QueuedRequest(request_id="test-field", program="test", kind="science",
                            target="field", ra_deg=ra, dec_deg=dec, filters=("r",),
                            exposure_s=60.0, priority=5.0, repeats=4, v_mag=14.0)
    settings = Settings(seed=SEED)
    end = START + timedelta(hours=HOURS)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    with LocalSiteNodes([SITE], seed=SEED, workdir=tmp_path / "n", tls=False,
                        frame_shape=(256, 256), transients=2, durable=False) as nodes:
        link = GrpcSiteLink(nodes.client(SITE), SITE, start=START, end=end)
        try:
            with EventLog.open(url) as log:
                NightRun(network, log, PluginHost.load(settings, network), settings,
                         {SITE: link}, [request], start=START, hours=HOURS, seed=SEED).run()
        finally:
            link.close()
            link.client.close()
        frames = tmp_path / "n" / SITE / "frames"
        with EventLog.open(url) as log:
            events = [r.event for r in log.read()]
        completed = [e for e in events if isinstance(e, ObservationCompleted)
                     and e.request_id == "test-field"]
        found = [e for e in events if isinstance(e, TransientDetected)]
        assert len(completed) >= 2, "the field was observed again after its reference"
        assert found, "the injected transients of the later frames were found"
        assert {e.detector for e in found} == {"edge"}
        matched = 0
        for e in found:
            assert e.score is not None and 0.0 <= e.score <= 1.0 and e.x_px is not None
            path = frames / f"{e.observation_id}.fits"
            assert e.frame == hashlib.sha256(path.read_bytes()).hexdigest()
            with fits.open(path) as hdul:
                truth = hdul["TRUTH"].data
            injected = truth[truth["is_transient"] == 1]
            sep = np.hypot((injected["ra"] - e.ra_deg) * np.cos(np.radians(e.dec_deg)),
                           injected["dec"] - e.dec_deg) * 3600.0
            if len(sep) and sep.min() < 2.0:
                matched += 1
                assert abs(e.mag - float(injected["mag"][int(np.argmin(sep))])) < 0.3
        # the injected transients are found where they are, at their magnitude (the other
        # candidates the vetting model kept are subtraction residuals of bright stars)
        assert matched >= 2
        # the first frame of the field is its reference: nothing is searched on it
        first = next(e.observation_id for e in events if isinstance(e, ObservationAssigned)
                     and e.request_id == "test-field")
        assert all(e.observation_id != first for e in found)
        # the follow-up chain reacts to what the node found
        assert any(isinstance(e, ObservationAssigned) and e.request_id.startswith("followup:")
                   for e in events)
