"""An observation through a site node whose backend is a real INDI server.

``openastro site-node`` runs with ``backend = "indi"`` against Debian's
``indiserver`` and simulators (TLS and a token as in production); ``openastro
observe`` sends one exposure over gRPC and gets the frame's edge-inference
result and the FITS, stars drawn from our sky by ``scripts/gsc``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from astropy.io import fits

from tests.integration.test_indi_backend import _backend, _near_pole, servers  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

NETWORK = """
[network]
name = "indi lab"

[[sites]]
name = "indi-lab"
latitude_deg = 50.0
longitude_deg = 10.0
elevation_m = 300
[sites.climate]
clear_night_fraction = 0.5
median_seeing_arcsec = 2.0
[[sites.telescopes]]
name = "lab-scope"
aperture_m = 0.2
field_of_view_arcmin = 40
filters = ["R"]
slew_rate_deg_s = 5
readout_s = 2
min_altitude_deg = 10
"""


def openastro(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "control_center.cli.main", *args],
                          capture_output=True, text=True, check=False, timeout=150, **kwargs)


def test_observation_through_a_site_node_on_real_indi(servers, tmp_path):  # noqa: F811
    server = servers.start()
    network = tmp_path / "network.toml"
    network.write_text(NETWORK)
    certs = tmp_path / "certs"
    assert openastro("certs", "init", "--dir", str(certs), "--network",
                     str(network)).returncode == 0
    probe = _backend(server.port)           # where is the mount? (a second INDI client)
    probe.connect()
    try:
        target = _near_pole(probe, "probe", 1.0)
    finally:
        probe.close()

    data = tmp_path / "node"
    config = tmp_path / "indi-lab.toml"
    config.write_text(f"""
[node]
site = "indi-lab"
network = "{network}"
listen = "127.0.0.1:0"
backend = "indi"
data_dir = "{data}"

[tls]
cert = "{certs}/indi-lab.pem"
key = "{certs}/indi-lab-key.pem"
ca = "{certs}/ca.pem"
token_file = "{certs}/indi-lab.token"

[indi]
host = "127.0.0.1"
port = {server.port}
wheel = "CCD Simulator"
readout_timeout_s = 20
slew_timeout_s = 60

[indi.filters]
R = "Red"
""")
    node = subprocess.Popen([sys.executable, "-m", "control_center.cli.main", "site-node",
                             "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ})
    try:
        address = _wait_address(data / "site-node.json", node)
        frame = tmp_path / "frame.fits"
        result = openastro("observe", "--site", address, "--ra", f"{target.ra_deg}",
                           "--dec", "85", "--exposure", "1", "--ca", str(certs / "ca.pem"),
                           "--token-file", str(certs / "indi-lab.token"), "--out", str(frame))
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["outcome"]["success"] is True
        assert int(answer["analysis"]["n_sources"]) >= 5        # our sky, via scripts/gsc
        with fits.open(frame) as hdul:
            assert hdul[0].data.shape == (1024, 1280) and hdul[0].header["FILTER"] == "R"
        refused = openastro("observe", "--site", address, "--ra", "0", "--dec", "85",
                            "--exposure", "1", "--ca", str(certs / "ca.pem"))
        assert refused.returncode != 0 and "UNAUTHENTICATED" in refused.stderr + refused.stdout
    finally:
        node.terminate()
        node.wait(timeout=30)


def _wait_address(path: Path, node: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists():
            try:
                return json.loads(path.read_text())["address"]
            except (ValueError, KeyError):
                pass
        assert node.poll() is None, node.stdout.read().decode()
        time.sleep(0.2)
    raise AssertionError("the site node never reported its address")
