"""The INDI backend against a real ``indiserver`` with Debian's ``indi-bin`` simulators.

Each server runs on 127.0.0.1 on a free port, with its own HOME (the drivers'
saved configuration stays in ``tmp_path``) and ``scripts/`` first on PATH so
the CCD simulator draws its stars with our ``gsc``. Without ``indiserver`` the
tests skip, unless ``CI`` is set (``scripts/ensure-indi.sh`` installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from site_node.backends.base import InstrumentError, ObservationCommand
from site_node.backends.indi import IndiBackend

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = ("indi_simulator_telescope", "indi_simulator_ccd", "indi_simulator_weather")
SITE = {"latitude_deg": 50.0, "longitude_deg": 10.0}
"""The simulated mount starts at the celestial pole, 50 deg up at this latitude."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IndiServer:
    """``indiserver`` and the simulators in their own process group (killed as one)."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> IndiServer:
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HOME": str(home),
               "PATH": f"{ROOT / 'scripts'}{os.pathsep}{os.environ.get('PATH', '')}"}
        log = open(self.workdir / f"indiserver-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["indiserver", "-p", str(self.port), "-r", "0",
             "-u", str(self.workdir / f"indi-{self.port}.sock"), *DRIVERS],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"indiserver exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"indiserver did not listen on {self.port}")

    def kill(self) -> None:
        """SIGKILL the server and its drivers (the process group we started)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self.proc = None


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message + " - required when CI is set")
    pytest.skip(message)


class Servers(list):
    """The servers of one test; :meth:`start` adds one (skips if INDI cannot run)."""

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.workdir = workdir

    def start(self, port: int | None = None) -> IndiServer:
        server = IndiServer(self.workdir, port)
        self.append(server)
        try:
            return server.start()
        except (OSError, RuntimeError) as exc:
            _unavailable(f"indiserver does not run here: {exc}")
            raise


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """``servers.start()`` runs an indiserver; all are killed at the end of the test."""
    missing = [p for p in ("indiserver", *DRIVERS) if shutil.which(p) is None]
    if missing:
        _unavailable(f"INDI not installed ({', '.join(missing)} missing; "
                     "see scripts/ensure-indi.sh)")
    started = Servers(tmp_path)
    try:
        yield started
    finally:
        for server in started:
            server.kill()


def _backend(port: int, **settings) -> IndiBackend:
    defaults = {"wheel": "CCD Simulator", "filters": {"R": "Red"}, "observatory": "test-site",
                "connect_timeout_s": 5, "slew_timeout_s": 30, "readout_timeout_s": 15, **SITE}
    return IndiBackend(name="indi-test", port=port, **{**defaults, **settings})


def _near_pole(backend: IndiBackend, observation_id: str, exposure_s: float,
               ) -> ObservationCommand:
    """A target 5 deg from where the mount parks (the pole): the simulator slews there in
    1 to 20 s, depending on the sidereal time (its RA axis turns at a fixed rate)."""
    deadline = time.monotonic() + 10
    while True:
        mount = backend.telemetry().mount[backend.telescope_key]
        if mount.dec_deg is not None and mount.dec_deg > 85.0:
            break
        assert time.monotonic() < deadline, f"mount never reported the pole: {mount}"
        time.sleep(0.1)
    return ObservationCommand(observation_id, "req-indi", backend.telescope_key,
                              ra_deg=mount.ra_deg % 360.0, dec_deg=85.0, filter="R",
                              exposure_s=exposure_s, target="near-pole")


def _sources(frame) -> int:
    import sep

    data = np.ascontiguousarray(frame[0].data, dtype=np.float64)
    background = sep.Background(data)
    return len(sep.extract(data - background, 5.0, err=background.globalrms))


def test_observation_with_stars_from_our_sky(servers):
    server = servers.start()
    backend = _backend(server.port)
    backend.connect()
    try:
        backend.connect()  # idempotent
        telemetry = backend.telemetry()
        assert telemetry.healthy, telemetry.messages
        assert telemetry.conditions.open
        assert telemetry.camera[backend.telescope_key].state == "idle"

        command = _near_pole(backend, "obs-indi-1", 1.0)
        exposure = backend.observe(command)
        assert exposure.success, exposure.reason
        assert exposure.end > exposure.start
        header = exposure.frame[0].header
        assert exposure.frame[0].data.shape == (1024, 1280)
        assert (header["FILTER"], header["WHEELFLT"]) == ("R", "Red")
        assert (header["OBSID"], header["REQID"]) == ("obs-indi-1", "req-indi")
        assert header["OBSERVAT"] == "test-site"
        assert _sources(exposure.frame) >= 5, "no stars: was scripts/gsc called?"

        mount = backend.telemetry().mount[backend.telescope_key]
        assert abs(mount.dec_deg - 85.0) < 0.01 and mount.tracking and mount.alt_deg > 40
        assert backend.telemetry().camera[backend.telescope_key].filter == "Red"
    finally:
        backend.close()
        backend.close()


def test_cancel_and_bad_input_leave_the_backend_serving(servers):
    server = servers.start()
    backend = _backend(server.port)
    backend.connect()
    try:
        command = _near_pole(backend, "obs-long", 30.0)
        result: dict = {}
        worker = threading.Thread(target=lambda: result.setdefault(
            "exposure", backend.observe(command)))
        worker.start()
        _wait_camera(backend, "exposing")
        assert backend.cancel("someone-else") is False
        assert backend.cancel("obs-long") is True
        worker.join(10)
        assert not worker.is_alive()
        assert not result["exposure"].success and result["exposure"].reason == "cancelled"

        with pytest.raises(InstrumentError, match="has no filter 'Q'.*CCD Simulator|"
                                                  "CCD Simulator.*has no filter 'Q'"):
            backend.observe(ObservationCommand("obs-q", "r", command.telescope, command.ra_deg,
                                               85.0, "Q", 1.0))
        with pytest.raises(InstrumentError, match="invalid observation 'obs-nan'"):
            backend.observe(ObservationCommand("obs-nan", "r", "x", float("nan"), 0.0, "R", 1.0))
        assert backend.telemetry().healthy

        _disconnect_from_another_client(server.port, "CCD Simulator")
        deadline = time.monotonic() + 5
        while backend.telemetry().healthy:
            assert time.monotonic() < deadline, "a disconnected camera went unnoticed"
            time.sleep(0.05)
        assert "not connected: ccd 'CCD Simulator'" in backend.telemetry().messages
        backend.connect()  # reconnects the device on the live link
        assert backend.telemetry().healthy
    finally:
        backend.close()


def _disconnect_from_another_client(port: int, device: str) -> None:
    from site_node.backends.indi.link import IndiLink

    other = IndiLink("127.0.0.1", port)
    other.open(5.0)
    try:
        async def disconnect() -> None:
            await other.wait_for(lambda: other.vector(device, "CONNECTION"), 5.0)
            await other.send(device, "CONNECTION", {"DISCONNECT": "On"})

        other.run(disconnect(), 6.0)
    finally:
        other.close()


def _wait_camera(backend: IndiBackend, state: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while backend.telemetry().camera[backend.telescope_key].state != state:
        assert time.monotonic() < deadline, f"camera never {state}"
        time.sleep(0.05)


def test_server_killed_mid_exposure_then_reconnect(servers):
    server = servers.start()
    backend = _backend(server.port)
    backend.connect()
    try:
        command = _near_pole(backend, "obs-doomed", 20.0)
        outcome: dict = {}

        def observe() -> None:
            try:
                outcome["exposure"] = backend.observe(command)
            except InstrumentError as exc:
                outcome["error"] = exc
                outcome["at"] = time.monotonic()

        worker = threading.Thread(target=observe)
        worker.start()
        _wait_camera(backend, "exposing")
        killed_at = time.monotonic()
        server.kill()
        worker.join(10)
        assert not worker.is_alive(), "observe() hung after the server died"
        assert "exposure" not in outcome
        message = str(outcome["error"])
        assert message == (f"INDI server 127.0.0.1:{server.port} went away during exposure of "
                           "CCD Simulator")
        assert outcome["at"] - killed_at < 3.0

        telemetry = backend.telemetry()
        assert not telemetry.healthy and not telemetry.conditions.open
        assert f"127.0.0.1:{server.port}" in telemetry.conditions.reason
        with pytest.raises(InstrumentError, match="not connected"):
            backend.observe(command)
        with pytest.raises(InstrumentError, match="cannot reach INDI server"):
            backend.connect()

        servers.start(port=server.port)
        backend.connect()
        assert backend.telemetry().healthy
    finally:
        backend.close()


def test_missing_device_is_named(servers):
    server = servers.start()
    backend = _backend(server.port, dome="Dome Simulator", connect_timeout_s=1.5)
    with pytest.raises(InstrumentError, match=r"INDI device 'Dome Simulator' \(dome\) not found "
                                              r"on 127\.0\.0\.1:\d+ \(devices there: .*CCD"):
        backend.connect()
    assert not backend.connected


def test_gsc_script_answers_the_ccd_simulators_call():
    """The exact command line ``indi_simulator_ccd`` runs, through ``scripts/gsc``."""
    out = subprocess.run([str(ROOT / "scripts" / "gsc"), "-c", "150.000000", "+2.200000",
                          "-r", "16.3", "-m", "0", "17.00", "-n", "3000"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    lines = out.splitlines()
    assert len(lines) > 20
    fields = lines[0].split()
    assert len(fields) == 12 and len(fields[0]) <= 10
    mags = [float(line.split()[4]) for line in lines]
    assert mags == sorted(mags) and mags[-1] <= 17.0
