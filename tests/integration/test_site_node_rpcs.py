"""A real site-node process over TLS with a token: round trip, refusals, bad input."""

import hashlib
import json
import os
import subprocess
import sys

import grpc
import pytest
from astropy.io import fits

from control_center.sites.client import SiteNodeClient
from control_center.sites.processes import LocalSiteNodes
from control_center.sites.testing import clear_start, commands, overhead_target, try_call
from site_node.messages import pb

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SITE = "hanle"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    with LocalSiteNodes([SITE], seed=3, workdir=tmp_path_factory.mktemp("nodes"),
                        frame_shape=(256, 256)) as running:
        with running.client(SITE) as c:
            running.clear = clear_start(c)      # pins the simulated night
        yield running


@pytest.fixture
def client(nodes):
    with nodes.client(SITE) as c:
        yield c


def test_observe_round_trip_over_tls_with_token(nodes, tmp_path):
    ra, dec = overhead_target(SITE, nodes.clear)
    creds = nodes.credentials(SITE)
    out = tmp_path / "frame.fits"
    proc = subprocess.run(
        [sys.executable, "-m", "control_center.cli.main", "observe", "--site",
         nodes.addresses[SITE], "--ra", str(ra), "--dec", str(dec), "--exposure", "60",
         "--filter", "r", "--ca", str(creds["ca"]), "--token-file", str(creds["token_file"]),
         "--start", nodes.clear.isoformat(), "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["site"] == SITE and result["outcome"]["success"] and result["has_frame"]
    assert result["analysis"]["ok"] and result["analysis"]["sky_level"] > 0
    assert result["outcome"]["truth"]["snr"] > 0
    with fits.open(out) as hdul:
        assert hdul[0].data.shape == (256, 256) or hdul[1].data.shape == (256, 256)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == result["frame_sha256"]


def test_calls_without_the_right_token_or_tls_are_refused(nodes, client):
    address, creds = nodes.addresses[SITE], nodes.credentials(SITE)
    other_token = (nodes.certs_dir / "la-palma.token") if (nodes.certs_dir / "la-palma.token")\
        .exists() else None
    for bad in (SiteNodeClient(address, ca=creds["ca"], deadline_s=5),
                SiteNodeClient(address, ca=creds["ca"], token="not-the-token", deadline_s=5)):
        with bad:
            for call in (bad.check, bad.status,
                         lambda b=bad: list(b.telemetry(max_messages=1))):
                err = try_call(call)
                assert isinstance(err, grpc.RpcError)
                assert err.code() == grpc.StatusCode.UNAUTHENTICATED
            assert bad.health.state == "offline"
    with SiteNodeClient(address, token_file=creds["token_file"], insecure=True,
                        deadline_s=3) as plain:
        assert try_call(plain.check).code() == grpc.StatusCode.UNAVAILABLE
    assert other_token is None or other_token.read_text() != creds["token_file"].read_text()
    assert client.check().status == pb.CheckResponse.SERVING_STATUS_SERVING


def test_oversized_messages_are_refused_and_the_node_keeps_serving(client):
    err = try_call(lambda: client.deploy_model("huge", "1", b"\0" * (65 * 1024 * 1024)))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in err.details()
    assert client.check().status == pb.CheckResponse.SERVING_STATUS_SERVING


def test_models_with_a_wrong_hash_or_no_model_are_rejected(client):
    err = try_call(lambda: client.deploy_model("anomaly-v9", "9", b"onnx?", sha256="0" * 64))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "sha256" in err.details()
    err = try_call(lambda: client.deploy_model("anomaly-v9", "9", b"not an onnx model"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "anomaly-v9" not in [m.name for m in client.status().models]
    assert client.check().status == pb.CheckResponse.SERVING_STATUS_SERVING


def test_a_model_with_the_right_hash_is_swapped_in(client):
    from site_node.edge.pipeline import default_models_dir, find_model

    shipped = default_models_dir()
    path = find_model(shipped) if shipped is not None else None
    if path is None:
        pytest.skip("no anomaly model shipped yet (models/anomaly/*.onnx)")
    response = client.deploy_model("anomaly-test", "test", path.read_bytes())
    assert response.deployed and response.model.sha256 == hashlib.sha256(
        path.read_bytes()).hexdigest()
    assert "anomaly-test" in [m.name for m in client.status().models]


def test_malformed_commands_are_refused(nodes, client):
    (good,) = commands(SITE, "hanle-0.7m", 1, prefix="malformed", start=nodes.clear)
    for bad in (pb.ObservationCommand(observation_id="x", telescope="nope", filter="r",
                                      exposure_s=1),
                pb.ObservationCommand(observation_id="../../etc", telescope="hanle-0.7m",
                                      filter="r", exposure_s=1)):
        assert try_call(lambda b=bad: client.submit(b)).code() == \
            grpc.StatusCode.INVALID_ARGUMENT
    empty = try_call(lambda: client.stub.SubmitObservation(
        pb.SubmitObservationRequest(), metadata=client._metadata, timeout=5))
    assert empty.code() == grpc.StatusCode.INVALID_ARGUMENT
    raw = client._channel.unary_unary("/openastro.v1.SiteNode/SubmitObservation",
                                      request_serializer=None, response_deserializer=None)
    garbage = try_call(lambda: raw(b"\xff\xff\xff\x0f", metadata=client._metadata, timeout=5))
    assert isinstance(garbage, grpc.RpcError) and garbage.code() != grpc.StatusCode.OK
    first, second = client.submit(good), client.submit(good)
    assert first.accepted and not first.duplicate and second.duplicate


def test_status_telemetry_results_and_frames(nodes, client):
    status = client.status()
    assert status.site == SITE and status.backend == "simulated"
    assert [t.name for t in status.telescopes] and status.software_version
    messages = list(client.telemetry(interval_s=0, max_messages=5))
    assert [m.sequence for m in messages] == [1, 2, 3, 4, 5]
    assert all(m.site == SITE and m.HasField("conditions") for m in messages)
    at_night = next(iter(client.telemetry(sim_time=nodes.clear, max_messages=1)))
    assert at_night.time.ToDatetime().year == 2026
    (cmd,) = commands(SITE, "hanle-0.7m", 1, prefix="frames", start=nodes.clear)
    client.submit(cmd)
    stream = client.results(0, observation_id=cmd.observation_id, include_fits=True)
    result = next(iter(stream))
    stream.cancel()
    assert result.fits and result.seq > 0
    frame = client.frame(cmd.observation_id)
    assert frame == result.fits
    assert try_call(lambda: client.frame("nothing-here")).code() == grpc.StatusCode.NOT_FOUND
    caught_up = list(client.results(result.seq, stop_when_caught_up=True))
    assert all(r.seq > result.seq for r in caught_up)
