"""The backend's steps against a scripted fake of the INDI link (no server, no threads)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from control_center.clock import RealClock
from site_node.backends.base import InstrumentError, ObservationCommand
from site_node.backends.indi import steps
from site_node.backends.indi.config import IndiConfig
from site_node.backends.indi.coords import icrs_to_jnow, separation_deg
from site_node.backends.indi.link import Blob, LinkLost

TEL, CCD, WS = "Telescope Simulator", "CCD Simulator", "Weather Simulator"
CFG = IndiConfig(wheel=CCD, filters={"R": "Red"}, observatory="obs", connect_timeout_s=0.3,
                 command_timeout_s=0.3, slew_timeout_s=0.5, filter_timeout_s=0.3,
                 readout_timeout_s=0.3)


def _fits() -> bytes:
    buf = io.BytesIO()
    fits.PrimaryHDU(np.zeros((4, 4), np.uint16)).writeto(buf)
    return buf.getvalue()


class FakeLink:
    """The loop-side API of :class:`IndiLink` over a dict of properties.

    ``send`` marks the property Busy (as indipyclient does) and runs the
    reaction registered for it; reactions emit server events with :meth:`emit`.
    """

    address = "127.0.0.1:7624"

    def __init__(self) -> None:
        self.props: dict[tuple[str, str], dict[str, Any]] = {}
        self.sent: list[tuple[str, str, dict]] = []
        self.reactions: dict[tuple[str, str], Callable[[dict], None]] = {}
        self.lost: str | None = None
        self._seq = 0
        self._history: list[tuple[int, str, str, str]] = []
        self._blobs: list[Blob] = []
        self._messages: dict[str, str] = {}
        self.define(TEL, "CONNECTION", "Ok", CONNECT="On", DISCONNECT="Off")
        self.define(TEL, "EQUATORIAL_EOD_COORD", "Idle", RA=0.0, DEC=90.0)
        self.define(TEL, "ON_COORD_SET", "Ok", TRACK="On", SLEW="Off", SYNC="Off")
        self.define(TEL, "TELESCOPE_ABORT_MOTION", "Idle", ABORT="Off")
        self.define(TEL, "TELESCOPE_TRACK_STATE", "Ok", TRACK_ON="On", TRACK_OFF="Off")
        self.define(TEL, "TELESCOPE_PARK", "Ok", PARK="Off", UNPARK="On")
        self.define(TEL, "GEOGRAPHIC_COORD", "Ok", LAT=50.0, LONG=10.0, ELEV=0.0)
        self.define(CCD, "CONNECTION", "Ok", CONNECT="On", DISCONNECT="Off")
        self.define(CCD, "CCD_EXPOSURE", "Idle", CCD_EXPOSURE_VALUE=1.0)
        self.define(CCD, "CCD_ABORT_EXPOSURE", "Idle", ABORT="Off")
        self.define(CCD, "CCD1", "Idle")
        self.define(CCD, "CCD_TEMPERATURE", "Idle", CCD_TEMPERATURE_VALUE=-10.0)
        self.define(CCD, "FILTER_SLOT", "Idle", FILTER_SLOT_VALUE=2.0)
        self.define(CCD, "FILTER_NAME", "Idle", FILTER_SLOT_NAME_1="Red",
                    FILTER_SLOT_NAME_2="Green")
        self.define(WS, "CONNECTION", "Ok", CONNECT="On", DISCONNECT="Off")
        self.define(WS, "WEATHER_STATUS", "Ok", WEATHER_RAIN_HOUR="Ok")
        self.define(WS, "WEATHER_PARAMETERS", "Ok", WEATHER_WIND_SPEED=7.2)
        self.reactions[(TEL, "EQUATORIAL_EOD_COORD")] = self.slew_to
        self.reactions[(CCD, "FILTER_SLOT")] = lambda m: self.emit(CCD, "FILTER_SLOT", "Ok", **m)
        self.reactions[(CCD, "CCD_EXPOSURE")] = self.expose

    # the fake server
    def define(self, device: str, name: str, state: str, **values: Any) -> None:
        self.props[(device, name)] = {"state": state, "values": dict(values)}

    def emit(self, device: str, name: str, state: str | None = None, **values: Any) -> None:
        self._seq += 1
        prop = self.props[(device, name)]
        if state:
            prop["state"] = state
            self._history.append((self._seq, device, name, state))
        prop["values"].update(values)

    def later(self, delay: float, fn: Callable[[], None]) -> None:
        asyncio.get_running_loop().call_later(delay, fn)

    def slew_to(self, members: dict) -> None:
        self.later(0.01, lambda: self.emit(TEL, "EQUATORIAL_EOD_COORD", "Busy"))
        self.later(0.03, lambda: self.emit(TEL, "EQUATORIAL_EOD_COORD", "Ok", **members))

    def expose(self, members: dict) -> None:
        self.later(0.01, lambda: self.emit(CCD, "CCD_EXPOSURE", "Busy", CCD_EXPOSURE_VALUE=0.0))
        self.later(0.02, lambda: self.blob(_fits()))

    def blob(self, data: bytes, fmt: str = ".fits") -> None:
        self._seq += 1
        self._blobs.append(Blob(CCD, "CCD1", "CCD1", data, fmt, self._seq))
        self.emit(CCD, "CCD_EXPOSURE", "Ok")

    def message(self, device: str, text: str) -> None:
        self._messages[device] = text

    # the IndiLink API used by steps
    def mark(self) -> int:
        return self._seq

    def devices(self) -> list[str]:
        return sorted({d for d, _ in self.props})

    def vector(self, device: str, name: str) -> Any:
        return self.props.get((device, name))

    def state(self, device: str, name: str) -> str | None:
        prop = self.vector(device, name)
        return prop["state"] if prop else None

    def values(self, device: str, name: str) -> dict[str, Any]:
        prop = self.vector(device, name)
        return dict(prop["values"]) if prop else {}

    def numbers(self, device: str, name: str) -> dict[str, float]:
        return {k: float(v) for k, v in self.values(device, name).items()}

    def number(self, device: str, name: str, member: str) -> float | None:
        value = self.values(device, name).get(member)
        return None if value is None else float(value)

    def switch(self, device: str, name: str, member: str) -> bool | None:
        value = self.values(device, name).get(member)
        return None if value is None else value == "On"

    def server_states_since(self, device: str, name: str, seq: int) -> list[str]:
        return [s for n, d, v, s in self._history if n > seq and (d, v) == (device, name)]

    def blob_since(self, device: str, vector: str, seq: int) -> Blob | None:
        return next((b for b in self._blobs if b.seq > seq), None)

    def drop_blobs(self) -> None:
        self._blobs.clear()

    def last_message(self, device: str) -> str:
        return self._messages.get(device, "")

    async def send(self, device: str, name: str, members: dict) -> None:
        if self.lost:
            raise LinkLost(self.lost)
        if self.vector(device, name) is None:
            raise InstrumentError(f"INDI device {device!r} has no property {name}")
        self.sent.append((device, name, dict(members)))
        self.props[(device, name)]["state"] = "Busy"
        reaction = self.reactions.get((device, name))
        if reaction:
            reaction(dict(members))

    async def enable_blobs(self, device: str, vector: str | None = None) -> None:
        self.sent.append((device, "enableBLOB", {"vector": vector}))

    async def wait_for(self, predicate: Callable[[], Any], timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if self.lost:
                raise LinkLost(self.lost)
            if loop.time() >= deadline:
                raise TimeoutError
            await asyncio.sleep(0.005)


class StepClock(RealClock):
    """Real time, for sky positions; records the instants handed out."""

    def __init__(self) -> None:
        self.given: list[datetime] = []

    def now(self) -> datetime:
        self.given.append(super().now())
        return self.given[-1]


def _command(link: FakeLink, **changes) -> ObservationCommand:
    """A target 40 deg up on the fake site's meridian (lat 50, lon 10)."""
    from simulator.horizon import HorizonFrame

    now = datetime.now(UTC)
    lst = HorizonFrame(50.0, 10.0, now).local_sidereal_deg(now)
    values = {"observation_id": "o1", "request_id": "r1", "telescope": TEL, "ra_deg": lst,
              "dec_deg": 0.0, "filter": "R", "exposure_s": 0.05, "target": "T"}
    return ObservationCommand(**{**values, **changes})


def _run(link: FakeLink, command: ObservationCommand | None = None, cfg: IndiConfig = CFG,
         clock: StepClock | None = None) -> Any:
    run = steps.Run(link, cfg, clock or StepClock(), command or _command(link))
    return asyncio.run(run.execute())


def test_observation_slews_in_jnow_sets_the_filter_and_returns_the_frame():
    link, clock = FakeLink(), StepClock()
    command = _command(link)
    exposure = _run(link, command, clock=clock)
    assert exposure.success and exposure.frame[0].header["WHEELFLT"] == "Red"
    assert exposure.frame[0].header["OBSERVAT"] == "obs"
    assert exposure.start in clock.given and exposure.end in clock.given
    assert [(d, p) for d, p, _ in link.sent] == [(TEL, "EQUATORIAL_EOD_COORD"),
                                                 (CCD, "FILTER_SLOT"), (CCD, "CCD_EXPOSURE")]
    coords = link.sent[0][2]
    ra_now, dec_now = icrs_to_jnow(command.ra_deg, command.dec_deg, clock.given[0])
    assert separation_deg(coords["RA"] * 15, coords["DEC"], ra_now, dec_now) < 1e-3
    assert link.sent[1][2] == {"FILTER_SLOT_VALUE": 1}
    assert link.sent[2][2] == {"CCD_EXPOSURE_VALUE": 0.05}


def test_a_stale_ok_from_before_the_slew_does_not_end_it():
    link = FakeLink()
    order: list[str] = []

    def slow_slew(members: dict) -> None:
        link.later(0.005, lambda: link.emit(TEL, "EQUATORIAL_EOD_COORD", "Ok"))  # stale update
        link.later(0.05, lambda: link.emit(TEL, "EQUATORIAL_EOD_COORD", "Busy"))
        link.later(0.10, lambda: (order.append("arrived"),
                                  link.emit(TEL, "EQUATORIAL_EOD_COORD", "Ok", **members)))

    link.reactions[(TEL, "EQUATORIAL_EOD_COORD")] = slow_slew
    link.reactions[(CCD, "CCD_EXPOSURE")] = lambda m: (order.append("exposed"), link.expose(m))
    assert _run(link).success
    assert order == ["arrived", "exposed"]


def test_parked_mount_is_unparked_and_tracking_requested():
    link = FakeLink()
    link.emit(TEL, "TELESCOPE_PARK", "Ok", PARK="On", UNPARK="Off")
    link.emit(TEL, "ON_COORD_SET", "Ok", TRACK="Off", SLEW="On")
    link.reactions[(TEL, "TELESCOPE_PARK")] = lambda m: link.later(
        0.01, lambda: link.emit(TEL, "TELESCOPE_PARK", "Ok", PARK="Off", UNPARK="On"))
    link.reactions[(TEL, "ON_COORD_SET")] = lambda m: link.emit(TEL, "ON_COORD_SET", "Ok", **m)
    assert _run(link).success
    assert [(d, p, m) for d, p, m in link.sent[:2]] == [
        (TEL, "TELESCOPE_PARK", {"UNPARK": "On"}), (TEL, "ON_COORD_SET", {"TRACK": "On"})]


def test_slew_refused_by_the_mount_names_it_with_its_message():
    link = FakeLink()

    def refuse(members: dict) -> None:
        link.message(TEL, "[ERROR] Target below limits")
        link.later(0.01, lambda: link.emit(TEL, "EQUATORIAL_EOD_COORD", "Alert"))

    link.reactions[(TEL, "EQUATORIAL_EOD_COORD")] = refuse
    with pytest.raises(InstrumentError, match="telescope 'Telescope Simulator' failed to slew "
                                              r"to RA .*: \[ERROR\] Target below limits"):
        _run(link)


def test_slew_timeout_aborts_motion():
    link = FakeLink()
    link.reactions[(TEL, "EQUATORIAL_EOD_COORD")] = lambda m: None
    with pytest.raises(InstrumentError, match="did not reach RA .* within 0.5 s"):
        _run(link)
    assert (TEL, "TELESCOPE_ABORT_MOTION", {"ABORT": "On"}) in link.sent


def test_server_gone_during_exposure_is_a_clear_error():
    link = FakeLink()

    def die(members: dict) -> None:
        link.emit(CCD, "CCD_EXPOSURE", "Busy")
        link.later(0.02, lambda: setattr(link, "lost", "INDI server closed the connection"))

    link.reactions[(CCD, "CCD_EXPOSURE")] = die
    with pytest.raises(InstrumentError) as exc:
        _run(link)
    assert str(exc.value) == ("INDI server 127.0.0.1:7624 went away during exposure of "
                              "CCD Simulator")


def test_server_gone_during_slew_names_the_telescope():
    link = FakeLink()
    link.reactions[(TEL, "EQUATORIAL_EOD_COORD")] = lambda m: setattr(link, "lost", "gone")
    with pytest.raises(InstrumentError, match="went away during slew of Telescope Simulator"):
        _run(link)


def test_failed_and_missing_frames():
    link = FakeLink()

    def fail(members: dict) -> None:
        link.message(CCD, "Telescope coordinates missing.")
        link.later(0.01, lambda: link.emit(CCD, "CCD_EXPOSURE", "Alert"))

    link.reactions[(CCD, "CCD_EXPOSURE")] = fail
    with pytest.raises(InstrumentError, match="camera 'CCD Simulator' failed the exposure: "
                                              "Telescope coordinates missing."):
        _run(link)

    link = FakeLink()
    link.reactions[(CCD, "CCD_EXPOSURE")] = lambda m: None
    with pytest.raises(InstrumentError, match="no frame from camera 'CCD Simulator' within "
                                              "0.3 s after a 0.05 s exposure"):
        _run(link)
    assert (CCD, "CCD_ABORT_EXPOSURE", {"ABORT": "On"}) in link.sent

    link = FakeLink()
    link.reactions[(CCD, "CCD_EXPOSURE")] = lambda m: link.later(0.01, lambda: link.blob(b"junk"))
    with pytest.raises(InstrumentError, match="camera 'CCD Simulator' sent a frame astropy"):
        _run(link)


def test_cancel_during_exposure_returns_an_empty_exposure():
    link = FakeLink()
    link.reactions[(CCD, "CCD_EXPOSURE")] = lambda m: link.emit(CCD, "CCD_EXPOSURE", "Busy")

    async def scenario():
        run = steps.Run(link, CFG, StepClock(), _command(link, exposure_s=5.0))
        task = asyncio.create_task(run.execute())
        await asyncio.sleep(0.1)
        run.cancelled = True
        await steps.abort(link, CFG)
        return await task

    exposure = asyncio.run(scenario())
    assert not exposure.success and exposure.reason == "cancelled" and exposure.frame is None
    assert (CCD, "CCD_ABORT_EXPOSURE", {"ABORT": "On"}) in link.sent


def test_closed_site_and_low_targets_are_not_observed():
    link = FakeLink()
    link.emit(WS, "WEATHER_STATUS", "Alert", WEATHER_RAIN_HOUR="Alert")
    exposure = _run(link)
    assert not exposure.success and exposure.reason == "site closed: weather alert: rain hour"
    assert link.sent == []

    link = FakeLink()
    exposure = _run(link, _command(link, dec_deg=-60.0))
    assert not exposure.success and "below the 0 deg limit" in exposure.reason
    assert link.sent == []


def test_unknown_filter_names_the_wheel_and_its_slots():
    link = FakeLink()
    with pytest.raises(InstrumentError, match="filter wheel 'CCD Simulator' has no filter 'Q'; "
                                              "its slots: 1=Red, 2=Green"):
        _run(link, _command(link, filter="Q"))
    assert steps.resolve_slot("G", {"a": "Red", "b": "Green"}, {"G": 2}, "W") == (2, "Green")
    with pytest.raises(InstrumentError, match=r"no filter 'R' \(mapped to 'Rojo'\)"):
        steps.resolve_slot("R", {"a": "Red"}, {"R": "Rojo"}, "W")


def test_setup_connects_devices_and_prepares_the_camera():
    link = FakeLink()
    link.emit(CCD, "CONNECTION", "Idle", CONNECT="Off", DISCONNECT="On")
    link.reactions[(CCD, "CONNECTION")] = lambda m: link.emit(CCD, "CONNECTION", "Ok", **m)
    link.define(CCD, "UPLOAD_MODE", "Ok", UPLOAD_CLIENT="Off", UPLOAD_LOCAL="On")
    link.define(CCD, "ACTIVE_DEVICES", "Ok", ACTIVE_TELESCOPE="Other Mount")
    cfg = IndiConfig(latitude_deg=-30.0, longitude_deg=-70.0, connect_timeout_s=0.3,
                     command_timeout_s=0.3)
    link.reactions[(TEL, "GEOGRAPHIC_COORD")] = lambda m: link.emit(TEL, "GEOGRAPHIC_COORD",
                                                                    "Ok", **m)
    asyncio.run(steps.setup(link, cfg))
    sent = {(d, p): m for d, p, m in link.sent}
    assert sent[(CCD, "CONNECTION")] == {"CONNECT": "On"}
    assert sent[(CCD, "enableBLOB")] == {"vector": "CCD1"}
    assert sent[(CCD, "UPLOAD_MODE")] == {"UPLOAD_CLIENT": "On"}
    assert sent[(CCD, "ACTIVE_DEVICES")] == {"ACTIVE_TELESCOPE": TEL}
    assert sent[(TEL, "GEOGRAPHIC_COORD")] == {"LAT": -30.0, "LONG": 290.0}


def _refuse_connection(link: FakeLink, device: str, message: str | None) -> None:
    """A device that is disconnected and answers CONNECT with Alert (or not at all)."""
    link.emit(device, "CONNECTION", "Idle", CONNECT="Off", DISCONNECT="On")
    if message is not None:
        link.message(device, message)
        link.reactions[(device, "CONNECTION")] = lambda m: link.emit(device, "CONNECTION", "Alert")
    else:
        link.reactions[(device, "CONNECTION")] = lambda m: None


@pytest.mark.parametrize(("cfg", "prepare", "message"), [
    (IndiConfig(dome="Dome Simulator", connect_timeout_s=0.1), None,
     (r"INDI device 'Dome Simulator' \(dome\) not found on 127.0.0.1:7624 \(devices there: "
     "'CCD Simulator', 'Telescope Simulator', 'Weather Simulator'\\)")),
    (IndiConfig(connect_timeout_s=0.1), lambda link: link.props.pop((CCD, "CCD1")),
     r"INDI device 'CCD Simulator' \(ccd\) has no CCD1 property"),
    (IndiConfig(command_timeout_s=0.1), lambda link: _refuse_connection(link, WS, "No port"),
     r"INDI device 'Weather Simulator' \(weather\) failed to connect: No port"),
    (IndiConfig(command_timeout_s=0.1), lambda link: _refuse_connection(link, WS, None),
     r"INDI device\(s\) 'Weather Simulator' did not connect within 0.1 s"),
])
def test_setup_names_what_is_missing(cfg, prepare, message):
    link = FakeLink()
    if prepare:
        prepare(link)
    with pytest.raises(InstrumentError, match=message):
        asyncio.run(steps.setup(link, cfg))


def test_mount_state_is_icrs_with_altaz_from_the_site():
    link = FakeLink()
    now = datetime.now(UTC)
    command = _command(link, dec_deg=20.0)
    ra_now, dec_now = icrs_to_jnow(command.ra_deg, command.dec_deg, now)
    link.emit(TEL, "EQUATORIAL_EOD_COORD", "Ok", RA=ra_now / 15, DEC=dec_now)
    mount = steps.mount_state(link, CFG, now)
    assert separation_deg(mount.ra_deg, mount.dec_deg, command.ra_deg, 20.0) < 1e-6
    assert mount.alt_deg == pytest.approx(60.0, abs=0.2) and mount.tracking
    assert not mount.slewing and not mount.parked
    assert steps.current_filter(link, CFG) == "Green"
    link.emit(TEL, "EQUATORIAL_EOD_COORD", "Busy")
    assert steps.mount_state(link, CFG, now + timedelta(seconds=1)).slewing


def test_conditions_include_the_dome():
    link = FakeLink()
    cond, _ = steps.conditions(link, CFG)
    assert cond.open and cond.wind_m_s == pytest.approx(2.0)
    link.define("Dome Simulator", "DOME_SHUTTER", "Ok", SHUTTER_OPEN="Off", SHUTTER_CLOSE="On")
    cond, _ = steps.conditions(link, IndiConfig(dome="Dome Simulator"))
    assert not cond.open and cond.reason == "dome 'Dome Simulator' closed"
