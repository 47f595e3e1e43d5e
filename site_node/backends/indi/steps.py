"""What the INDI backend does, step by step, on the link's event loop.

Every coroutine here runs on :class:`~site_node.backends.indi.link.IndiLink`'s
loop (through ``link.run``) and every wait has its own timeout from
:class:`~site_node.backends.indi.config.IndiConfig`.

Observation (:class:`Run`): refuse if the site is closed or the target is
below ``min_altitude_deg``; unpark; slew (``ON_COORD_SET`` = ``TRACK``, then
``EQUATORIAL_EOD_COORD`` in JNow) until the mount reports the target and the
property is no longer Busy; select the filter (``FILTER_SLOT``); expose
(``CCD_EXPOSURE``) and take the FITS from the ``CCD1`` BLOB.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from control_center.clock import Clock
from control_center.plugin_api.types import Conditions
from site_node.backends.base import Exposure, InstrumentError, MountState, ObservationCommand
from site_node.backends.indi.config import IndiConfig
from site_node.backends.indi.coords import icrs_to_jnow, jnow_to_icrs, separation_deg
from site_node.backends.indi.link import Blob, IndiLink, LinkLost
from site_node.backends.indi.mapping import conditions_from_weather, read_frame, stamp_headers

__all__ = ["Run", "abort", "conditions", "current_filter", "mount_state", "resolve_slot",
           "roles", "setup"]

EOD, J2000 = "EQUATORIAL_EOD_COORD", "EQUATORIAL_COORD"
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "telescope": ((EOD, J2000),),
    "ccd": (("CCD_EXPOSURE",), ("CCD1",)),
    "weather": (("WEATHER_STATUS", "WEATHER_PARAMETERS"),),
    "wheel": (("FILTER_SLOT",), ("FILTER_NAME",)),
    "dome": (("DOME_SHUTTER", "DOME_PARK"),),
}
"""Per role, the properties a device must define (each inner tuple: any one of them)."""


class Cancelled(Exception):
    """The observation was cancelled (raised inside waits)."""


def _why(link: IndiLink, device: str) -> str:
    return link.last_message(device) or "the driver gave no message"


# ---------------------------------------------------------------------- connect
def roles(cfg: IndiConfig) -> dict[str, str]:
    """Device name -> its (first) role; a camera with an internal wheel appears once."""
    out: dict[str, str] = {}
    for role, device in cfg.devices.items():
        out.setdefault(device, role)
    return out


async def setup(link: IndiLink, cfg: IndiConfig) -> None:
    """Find and connect every configured device, check its properties, enable BLOBs."""
    by_device = roles(cfg)
    try:
        await link.wait_for(lambda: all(link.vector(d, "CONNECTION") for d in by_device),
                            cfg.connect_timeout_s)
    except TimeoutError:
        missing = [d for d in by_device if not link.vector(d, "CONNECTION")]
        seen = ", ".join(repr(d) for d in link.devices()) or "none"
        raise InstrumentError(
            "; ".join(f"INDI device {d!r} ({by_device[d]}) not found on {cfg.address}"
                      for d in missing) + f" (devices there: {seen})") from None
    for device in by_device:
        if link.switch(device, "CONNECTION", "CONNECT") is not True:
            await link.send(device, "CONNECTION", {"CONNECT": "On"})

    def connected() -> bool:
        for d, role in by_device.items():
            if link.state(d, "CONNECTION") == "Alert":
                raise InstrumentError(f"INDI device {d!r} ({role}) failed to connect: "
                                      f"{_why(link, d)}")
        return all(link.switch(d, "CONNECTION", "CONNECT") and link.state(d, "CONNECTION")
                   == "Ok" for d in by_device)

    try:
        await link.wait_for(connected, cfg.command_timeout_s)
    except TimeoutError:
        slow = [d for d in by_device if link.state(d, "CONNECTION") != "Ok"]
        raise InstrumentError(f"INDI device(s) {', '.join(map(repr, slow))} did not connect "
                              f"within {cfg.command_timeout_s:g} s") from None

    wanted = [(role, device, alternatives) for role, device in cfg.devices.items()
              for alternatives in REQUIRED[role]]

    def absent() -> list[tuple[str, str, tuple[str, ...]]]:
        return [w for w in wanted if not any(link.vector(w[1], p) for p in w[2])]

    try:
        await link.wait_for(lambda: not absent(), cfg.connect_timeout_s)
    except TimeoutError:
        raise InstrumentError("; ".join(
            f"INDI device {d!r} ({role}) has no {' or '.join(alts)} property"
            for role, d, alts in absent())) from None
    await link.enable_blobs(cfg.ccd, "CCD1")
    await _housekeeping(link, cfg)


async def _housekeeping(link: IndiLink, cfg: IndiConfig) -> None:
    """Frames to the client, in FITS; the camera snoops our mount and wheel; site position."""
    ccd = cfg.ccd
    if link.switch(ccd, "UPLOAD_MODE", "UPLOAD_CLIENT") is False:
        await link.send(ccd, "UPLOAD_MODE", {"UPLOAD_CLIENT": "On"})
    if link.switch(ccd, "CCD_TRANSFER_FORMAT", "FORMAT_FITS") is False:
        await link.send(ccd, "CCD_TRANSFER_FORMAT", {"FORMAT_FITS": "On"})
    active = link.values(ccd, "ACTIVE_DEVICES")
    update = {}
    if active.get("ACTIVE_TELESCOPE", cfg.telescope) != cfg.telescope:
        update["ACTIVE_TELESCOPE"] = cfg.telescope
    if cfg.wheel and active.get("ACTIVE_FILTER", cfg.wheel) != cfg.wheel:
        update["ACTIVE_FILTER"] = cfg.wheel
    if update:
        await link.send(ccd, "ACTIVE_DEVICES", update)
    if cfg.latitude_deg is not None and link.vector(cfg.telescope, "GEOGRAPHIC_COORD"):
        site = {"LAT": cfg.latitude_deg, "LONG": cfg.longitude_deg % 360.0}
        if cfg.elevation_m is not None:
            site["ELEV"] = cfg.elevation_m
        now = link.numbers(cfg.telescope, "GEOGRAPHIC_COORD")
        if all(abs(now.get(k, math.inf) - v) < 1e-6 for k, v in site.items()):
            return
        await link.send(cfg.telescope, "GEOGRAPHIC_COORD", site)
        await _settle(link, cfg.telescope, "GEOGRAPHIC_COORD", cfg.command_timeout_s)


async def _settle(link: IndiLink, device: str, prop: str, timeout: float) -> None:
    def done() -> bool:
        if link.state(device, prop) == "Alert":
            raise InstrumentError(f"INDI device {device!r} refused {prop}: {_why(link, device)}")
        return link.state(device, prop) != "Busy"

    try:
        await link.wait_for(done, timeout)
    except TimeoutError:
        raise InstrumentError(f"INDI device {device!r} did not apply {prop} within "
                              f"{timeout:g} s") from None


async def abort(link: IndiLink, cfg: IndiConfig) -> None:
    """Abort the exposure and any motion (best effort, for cancel and timeouts)."""
    targets = ((cfg.ccd, "CCD_ABORT_EXPOSURE"), (cfg.telescope, "TELESCOPE_ABORT_MOTION"))
    for device, prop in targets:
        if link.vector(device, prop) is not None and not link.lost:
            await link.send(device, prop, {"ABORT": "On"})


# ---------------------------------------------------------------------- reading
def conditions(link: IndiLink, cfg: IndiConfig) -> tuple[Conditions, tuple[str, ...]]:
    """The site's conditions from the weather station and the dome."""
    station, params, dome_closed = cfg.weather, None, None
    if station and link.switch(station, "CONNECTION", "CONNECT") is not False:
        if link.vector(station, "WEATHER_PARAMETERS") is not None:
            params = link.numbers(station, "WEATHER_PARAMETERS")
        elif link.vector(station, "WEATHER_STATUS") is not None:
            params = {}
    if cfg.dome:
        shutter, park = link.values(cfg.dome, "DOME_SHUTTER"), link.values(cfg.dome, "DOME_PARK")
        dome_closed = (shutter.get("SHUTTER_CLOSE") == "On" if shutter
                       else park.get("PARK") == "On" if park else True)
    return conditions_from_weather(
        params, link.state(station, "WEATHER_STATUS") if station else None,
        link.values(station, "WEATHER_STATUS") if station else {}, station=station,
        assumed_seeing_arcsec=cfg.assumed_seeing_arcsec,
        assumed_sky_v_mag_arcsec2=cfg.assumed_sky_v_mag_arcsec2,
        dome_closed=dome_closed, dome=cfg.dome)


def _site(link: IndiLink, cfg: IndiConfig) -> tuple[float, float] | None:
    geo = link.numbers(cfg.telescope, "GEOGRAPHIC_COORD")
    return (geo["LAT"], geo["LONG"]) if "LAT" in geo and "LONG" in geo else None


def _altaz(link: IndiLink, cfg: IndiConfig, ra: float, dec: float,
           when: datetime) -> tuple[float, float] | None:
    from simulator.horizon import HorizonFrame

    site = _site(link, cfg)
    if site is None:
        return None
    return HorizonFrame(site[0], site[1], when).altaz(ra, dec, when)


def mount_state(link: IndiLink, cfg: IndiConfig, when: datetime) -> MountState | None:
    """Position (ICRS), alt-az, tracking, slewing and park state of the mount."""
    tel = cfg.telescope
    prop = EOD if link.vector(tel, EOD) is not None else J2000
    state = link.state(tel, prop)
    if state is None:
        return None
    ra_h, dec = link.number(tel, prop, "RA"), link.number(tel, prop, "DEC")
    ra = altaz = None
    if ra_h is not None and dec is not None:
        ra, dec = (jnow_to_icrs(ra_h * 15.0, dec, when) if prop == EOD
                   else ((ra_h * 15.0) % 360.0, dec))
        horizontal = link.numbers(tel, "HORIZONTAL_COORD")
        altaz = ((horizontal["ALT"], horizontal["AZ"]) if "ALT" in horizontal
                 else _altaz(link, cfg, ra, dec, when))
    tracking = link.switch(tel, "TELESCOPE_TRACK_STATE", "TRACK_ON")
    return MountState(ra_deg=ra, dec_deg=dec, alt_deg=altaz[0] if altaz else None,
                      az_deg=altaz[1] if altaz else None,
                      tracking=state == "Ok" if tracking is None else tracking,
                      slewing=state == "Busy",
                      parked=bool(link.switch(tel, "TELESCOPE_PARK", "PARK")))


def current_filter(link: IndiLink, cfg: IndiConfig) -> str | None:
    """The wheel's current slot name (None without a wheel)."""
    if not cfg.wheel:
        return None
    slot = link.number(cfg.wheel, "FILTER_SLOT", "FILTER_SLOT_VALUE")
    names = list(link.values(cfg.wheel, "FILTER_NAME").values())
    return names[round(slot) - 1] if slot is not None and 1 <= round(slot) <= len(names) else None


def resolve_slot(filter_name: str, slot_names: Mapping[str, str],
                 aliases: Mapping[str, str | int], wheel: str) -> tuple[int, str]:
    """The 1-based slot and its name for ``filter_name``.

    ``aliases`` (``[indi.filters]``) maps our names to slot names or numbers;
    otherwise the slot name must equal ``filter_name`` exactly (``R`` is not ``r``).

    Examples
    --------
    >>> names = {"FILTER_SLOT_NAME_1": "Red", "FILTER_SLOT_NAME_2": "V"}
    >>> resolve_slot("V", names, {}, "Wheel"), resolve_slot("R", names, {"R": "Red"}, "Wheel")
    ((2, 'V'), (1, 'Red'))
    """
    slots = list(slot_names.values())
    want = aliases.get(filter_name, filter_name)
    if isinstance(want, int) and 1 <= want <= len(slots):
        return want, slots[want - 1]
    if isinstance(want, str) and want in slots:
        return slots.index(want) + 1, want
    mapped = f" (mapped to {want!r})" if want != filter_name else ""
    listing = ", ".join(f"{i}={n}" for i, n in enumerate(slots, 1)) or "none"
    raise InstrumentError(f"filter wheel {wheel!r} has no filter {filter_name!r}{mapped}; "
                          f"its slots: {listing}; map it under [indi.filters]")


# ---------------------------------------------------------------------- observe
class Run:
    """One observation on the link's loop; set :attr:`cancelled` to stop it."""

    def __init__(self, link: IndiLink, cfg: IndiConfig, clock: Clock,
                 command: ObservationCommand, *, observatory: str = "") -> None:
        self.link, self.cfg, self.clock, self.command = link, cfg, clock, command
        self.observatory = observatory or cfg.observatory
        self.cancelled = False

    def _failed(self, start: datetime, reason: str, cond: Conditions | None) -> Exposure:
        return Exposure(self.command, start, self.clock.now(), None, False, reason, cond)

    def _check(self) -> None:
        if self.cancelled:
            raise Cancelled

    async def execute(self) -> Exposure:
        """Run the observation; see the module docstring."""
        cfg, cmd, t0 = self.cfg, self.command, self.clock.now()
        cond, _ = conditions(self.link, cfg)
        if not cond.open:
            return self._failed(t0, f"site closed: {cond.reason}", cond)
        altaz = _altaz(self.link, cfg, cmd.ra_deg, cmd.dec_deg, t0)
        if altaz is not None and altaz[0] < cfg.min_altitude_deg:
            return self._failed(t0, f"target at altitude {altaz[0]:.1f} deg, below the "
                                    f"{cfg.min_altitude_deg:g} deg limit", cond)
        phase = f"slew of {cfg.telescope}"
        try:
            await self._unpark()
            await self._slew()
            phase = f"filter change of {cfg.wheel}"
            wheel_filter = await self._set_filter()
            phase = f"exposure of {cfg.ccd}"
            start = self.clock.now()
            blob = await self._expose()
            end = self.clock.now()
        except Cancelled:
            return self._failed(t0, "cancelled", cond)
        except LinkLost as exc:
            if getattr(self.link, "closing", False):
                raise InstrumentError(f"connection to INDI server {cfg.address} closed by the "
                                      f"site node during {phase}") from exc
            raise InstrumentError(f"INDI server {cfg.address} went away during {phase}") from exc
        frame = read_frame(blob.data, blob.format, device=cfg.ccd)
        stamp_headers(frame, cmd, observatory=self.observatory, start=start,
                      wheel_filter=wheel_filter)
        return Exposure(cmd, start, end, frame, True, "", cond)

    async def _wait(self, predicate: Callable[[], Any], timeout: float, message: str) -> Any:
        def checked() -> Any:
            self._check()
            return predicate()

        try:
            return await self.link.wait_for(checked, timeout)
        except TimeoutError:
            try:
                await abort(self.link, self.cfg)
            except InstrumentError:
                pass
            raise InstrumentError(message) from None

    async def _unpark(self) -> None:
        tel, link = self.cfg.telescope, self.link
        if not link.switch(tel, "TELESCOPE_PARK", "PARK"):
            return
        await link.send(tel, "TELESCOPE_PARK", {"UNPARK": "On"})

        def unparked() -> bool:
            if link.state(tel, "TELESCOPE_PARK") == "Alert":
                raise InstrumentError(f"telescope {tel!r} failed to unpark: {_why(link, tel)}")
            return link.state(tel, "TELESCOPE_PARK") != "Busy" and not link.switch(
                tel, "TELESCOPE_PARK", "PARK")

        await self._wait(unparked, self.cfg.slew_timeout_s,
                         f"telescope {tel!r} did not unpark within {self.cfg.slew_timeout_s:g} s")

    async def _slew(self) -> None:
        cfg, cmd, link, tel = self.cfg, self.command, self.link, self.cfg.telescope
        prop = EOD if link.vector(tel, EOD) is not None else J2000
        ra, dec = (icrs_to_jnow(cmd.ra_deg, cmd.dec_deg, self.clock.now()) if prop == EOD
                   else (cmd.ra_deg, cmd.dec_deg))
        if link.vector(tel, "ON_COORD_SET") and not link.switch(tel, "ON_COORD_SET", "TRACK"):
            await link.send(tel, "ON_COORD_SET", {"TRACK": "On"})
        mark = link.mark()
        await link.send(tel, prop, {"RA": ra / 15.0, "DEC": dec})
        where = f"RA {cmd.ra_deg:.4f} Dec {cmd.dec_deg:+.4f}"

        def arrived() -> bool:
            state = link.state(tel, prop)
            if state == "Alert":
                raise InstrumentError(f"telescope {tel!r} failed to slew to {where}: "
                                      f"{_why(link, tel)}")
            pos_ra, pos_dec = link.number(tel, prop, "RA"), link.number(tel, prop, "DEC")
            if state == "Busy" or pos_ra is None or pos_dec is None:
                return False
            close = separation_deg(pos_ra * 15.0, pos_dec, ra, dec) <= cfg.slew_tolerance_deg
            moved = "Busy" in link.server_states_since(tel, prop, mark)
            return close or (moved and state == "Ok")

        await self._wait(arrived, cfg.slew_timeout_s,
                         f"telescope {tel!r} did not reach {where} within {cfg.slew_timeout_s:g} s")

    async def _set_filter(self) -> str | None:
        cfg, link, wheel = self.cfg, self.link, self.cfg.wheel
        if not wheel:
            return None
        slot, name = resolve_slot(self.command.filter, link.values(wheel, "FILTER_NAME"),
                                  cfg.filters, wheel)
        current = link.number(wheel, "FILTER_SLOT", "FILTER_SLOT_VALUE")
        if current is not None and round(current) == slot and \
                link.state(wheel, "FILTER_SLOT") != "Busy":
            return name
        await link.send(wheel, "FILTER_SLOT", {"FILTER_SLOT_VALUE": slot})

        def in_place() -> bool:
            state = link.state(wheel, "FILTER_SLOT")
            if state == "Alert":
                raise InstrumentError(f"filter wheel {wheel!r} failed to select {name!r}: "
                                      f"{_why(link, wheel)}")
            value = link.number(wheel, "FILTER_SLOT", "FILTER_SLOT_VALUE")
            return state == "Ok" and value is not None and round(value) == slot

        await self._wait(in_place, cfg.filter_timeout_s, f"filter wheel {wheel!r} did not select "
                         f"{name!r} within {cfg.filter_timeout_s:g} s")
        return name

    async def _expose(self) -> Blob:
        cfg, link, ccd, seconds = self.cfg, self.link, self.cfg.ccd, self.command.exposure_s
        mark = link.mark()
        await link.send(ccd, "CCD_EXPOSURE", {"CCD_EXPOSURE_VALUE": seconds})

        def frame() -> Blob | None:
            blob = link.blob_since(ccd, "CCD1", mark)
            if blob is not None:
                return blob
            state = link.state(ccd, "CCD_EXPOSURE")
            if state == "Alert":
                raise InstrumentError(f"camera {ccd!r} failed the exposure: {_why(link, ccd)}")
            if state == "Idle" and "Busy" in link.server_states_since(ccd, "CCD_EXPOSURE", mark):
                raise InstrumentError(f"camera {ccd!r} stopped the exposure: {_why(link, ccd)}")
            return None

        blob = await self._wait(frame, seconds + cfg.readout_timeout_s,
                                f"no frame from camera {ccd!r} within "
                                f"{cfg.readout_timeout_s:g} s after a {seconds:g} s exposure")
        link.drop_blobs()
        return blob
