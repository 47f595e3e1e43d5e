"""The node's queue worker, the simulated backend and the message mapping, without gRPC."""

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from astropy.io import fits

from control_center.network import load_network
from site_node.backends.base import Exposure, InstrumentError, ObservationCommand, Telemetry
from site_node.backends.simulated import SimulatedBackend
from site_node.config import SimulatedOptions
from site_node.messages import analysis_to_pb, command_from_pb, command_to_pb, pb
from site_node.node import CommandRejected, SiteNode, validate_command
from site_node.sky_stats import SkyStatsPipeline

SITE = load_network().site("la-palma")
START = datetime(2026, 3, 21, 23, tzinfo=UTC)


def command(oid="obs-1", **kw):
    base = {"observation_id": oid, "request_id": "r", "telescope": "palma-1m", "ra_deg": 150.0,
                "dec_deg": 20.0, "filter": "r", "exposure_s": 60.0, "start": START}
    return ObservationCommand(**{**base, **kw})


class FakeBackend:
    name = "fake"

    def __init__(self, frames):
        self.frames = list(frames)

    def connect(self):
        pass

    def close(self):
        pass

    def telemetry(self, now=None):
        raise NotImplementedError

    def observe(self, cmd):
        frame = self.frames.pop(0)
        if isinstance(frame, Exception):
            raise frame
        return Exposure(cmd, cmd.start, cmd.start + timedelta(seconds=90), frame, True, "ok")

    def cancel(self, observation_id):
        return False


def hdul(data):
    return fits.HDUList([fits.PrimaryHDU(np.asarray(data, dtype=np.float32))])


def results_of(node, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while node.outbox.last_seq() < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return [pb.ObservationResult.FromString(r.body) for r in node.outbox.pending(0)]


def test_bad_frames_and_instrument_errors_become_results_and_the_worker_goes_on(tmp_path):
    frames = [hdul(np.full((32, 32), np.nan)), InstrumentError("camera: readout timeout"),
              hdul(np.random.default_rng(1).normal(100, 5, (32, 32))),
              ConnectionResetError("INDI server went away")]
    node = SiteNode(SITE, FakeBackend(frames), SkyStatsPipeline(), tmp_path)
    node.start()
    try:
        for i in range(4):
            node.submit(command_to_pb(command(f"obs-{i}")))
        nan, failed, good, lost = results_of(node, 4)
    finally:
        node.stop()
    assert not nan.analysis.ok and "no finite pixel" in nan.analysis.error and nan.has_frame
    assert not failed.outcome.success and "readout timeout" in failed.outcome.reason
    assert not failed.HasField("analysis")
    assert "backend error (ConnectionResetError): INDI server went away" == lost.outcome.reason
    assert good.analysis.ok and abs(good.analysis.sky_level - 100) < 2
    assert (tmp_path / "frames" / "obs-2.fits").is_file() and len(good.frame_sha256) == 64
    assert any("no finite pixel" in m for m in node.messages)
    assert node.degraded                                 # the last exposure failed


def test_commands_are_validated_against_the_site():
    validate_command(SITE, command())
    for bad, message in [({"observation_id": "../x"}, "observation_id"),
                         ({"telescope": "hubble"}, "telescope 'hubble'"),
                         ({"filter": "Ha"}, "filter 'Ha'"), ({"ra_deg": 360.0}, "ra_deg"),
                         ({"dec_deg": float("nan")}, "dec_deg"),
                         ({"exposure_s": 0.0}, "exposure_s")]:
        with pytest.raises(CommandRejected, match=message):
            validate_command(SITE, command(**bad))


def test_queued_observations_can_be_cancelled(tmp_path):
    node = SiteNode(SITE, FakeBackend([]), SkyStatsPipeline(), tmp_path)   # not started
    node.submit(command_to_pb(command("a")))
    assert node.cancel("a") == (True, "cancelled")
    assert node.cancel("a") == (False, "cancelled")
    assert node.cancel("zz") == (False, "unknown")
    (result,) = [pb.ObservationResult.FromString(r.body) for r in node.outbox.pending(0)]
    assert result.outcome.reason == "cancelled"
    node.outbox.close()


def test_commands_round_trip_through_the_wire_format():
    for c in (command(), command(v_mag=12.5, start=None)):
        assert command_from_pb(pb.ObservationCommand.FromString(
            command_to_pb(c).SerializeToString())) == c


def test_pipeline_results_map_onto_frame_analysis():
    m = analysis_to_pb({"sky_level": 101.5, "n_sources": 12, "fwhm_arcsec": None,
                        "zero_point": float("nan"), "anomaly_verdict": "normal",
                        "anomaly_score": 0.2, "timings_ms": {"zero_point": 3.0},
                        "transients": [{"ra": 1.0, "dec": 2.0, "snr": 9.0}]},
                       pipeline="edge", latency_s=0.1)
    assert m.ok and m.sky_level == 101.5 and m.n_sources == 12 and m.verdict == "normal"
    assert not m.HasField("fwhm_arcsec") and not m.HasField("zero_point")
    assert m.transients[0].ra_deg == 1.0 and m.transients[0].snr == 9.0
    assert m.extras["timings_ms"]["zero_point"] == 3.0 and m.extras["zero_point"] is None


def test_the_simulated_backend_reproduces_the_simulator(tmp_path):
    from simulator import SimulatedSite

    end = START + timedelta(hours=4)
    rendered = []

    def renderer(sim, obs, *, seed, shape, artefacts, transients):
        rendered.append((seed, shape))
        return hdul(np.zeros(shape))

    backend = SimulatedBackend(SITE, 5, options=SimulatedOptions(frame_shape=(64, 32)),
                               renderer=renderer)
    reference = SimulatedSite(SITE, 5, START, end)
    assert backend.condition_timeline(START, end) == reference.condition_changes()
    exposure = backend.observe(command())
    expected = reference.observe("palma-1m", 150.0, 20.0, None, "r", 60.0, 0.0, START)
    assert (exposure.start, exposure.end, exposure.success) == (expected.start, expected.end,
                                                                expected.success)
    assert exposure.truth["snr"] == expected.outcome.snr
    assert rendered and rendered[0][1] == (64, 32) and exposure.frame is not None
    # The next slew starts from where the telescope now points.
    second = backend.observe(command("obs-2", start=exposure.end))
    again = reference.observe("palma-1m", 150.0, 20.0, None, "r", 60.0, 0.0, exposure.end,
                              (150.0, 20.0), "r")
    assert second.end == again.end
    t = backend.telemetry()
    assert isinstance(t, Telemetry) and t.time == second.end
    assert t.mount["palma-1m"].ra_deg == 150.0 and t.camera["palma-1m"].filter == "r"
    # Outside the pinned span the backend simulates the night around the start time.
    later = backend.observe(replace(command("obs-3"), start=START + timedelta(days=2)))
    assert later.start == START + timedelta(days=2)


def test_a_frame_with_a_broken_header_is_stored_and_analysed(tmp_path):
    pipeline = pytest.importorskip("site_node.edge.pipeline").EdgePipeline()
    hdu = fits.PrimaryHDU(np.random.default_rng(2).normal(100, 5, (128, 128)).astype(np.float32))
    hdu.header.append(fits.Card.fromstring("CRVAL1  = 'not a number'"))
    hdu.header.append(fits.Card.fromstring("BAD KEY = 1 / a keyword with a space"))
    hdu.header["CTYPE1"] = "RA---TAN"
    node = SiteNode(SITE, FakeBackend([fits.HDUList([hdu])]), pipeline, tmp_path)
    node.start()
    try:
        node.submit(command_to_pb(command("broken")))
        (result,) = results_of(node, 1)
    finally:
        node.stop()
    assert result.has_frame and (tmp_path / "frames" / "broken.fits").is_file()
    assert result.analysis.ok and abs(result.analysis.sky_level - 100) < 2
    assert any("WCS" in w for w in result.analysis.extras["warnings"])
