"""The INDI instrument backend: a site's real mount, camera, wheel, dome and weather station.

:class:`IndiBackend` implements :class:`~site_node.backends.base.InstrumentBackend`
over an INDI server. Calls are synchronous; the INDI client runs on its own
event loop in a background thread (:mod:`site_node.backends.indi.link`).
The steps of an observation live in :mod:`site_node.backends.indi.steps`.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from control_center.clock import Clock, RealClock
from control_center.plugin_api.types import Conditions
from site_node.backends.base import (
    CameraState,
    Exposure,
    InstrumentError,
    ObservationCommand,
    Telemetry,
)
from site_node.backends.indi import steps
from site_node.backends.indi.config import IndiConfig
from site_node.backends.indi.link import IndiLink
from site_node.backends.indi.mapping import camera_state

if TYPE_CHECKING:
    from collections.abc import Mapping

    from control_center.network import Site

__all__ = ["IndiBackend", "create_backend"]

_MAX_EXPOSURE_S = 24 * 3600.0


class IndiBackend:
    """Instruments driven through an INDI server.

    Parameters
    ----------
    config : IndiConfig, optional
        Server, devices and timeouts; defaults to :class:`IndiConfig` (the
        Debian ``indi-bin`` simulators on ``127.0.0.1:7624``).
    name : str
        The backend's (site's) name.
    clock : Clock, optional
        Source of the exposures' start and end times and of the telemetry's
        time; :class:`~control_center.clock.RealClock` by default.
    **settings
        Any :class:`IndiConfig` field, overriding ``config``
        (``IndiBackend(host="10.0.0.5", port=7624, ccd="QHY CCD QHY268M")``).

    Examples
    --------
    >>> backend = IndiBackend(port=7625, wheel="CCD Simulator", readout_timeout_s=20)
    >>> backend.config.address, backend.config.wheel
    ('127.0.0.1:7625', 'CCD Simulator')
    """

    def __init__(self, config: IndiConfig | None = None, *, name: str = "indi",
                 clock: Clock | None = None, **settings: Any) -> None:
        config = config or IndiConfig()
        self.config = replace(config, **settings) if settings else config
        self.name = name
        self._clock: Clock = clock or RealClock()
        self._link: IndiLink | None = None
        self._connect_lock = threading.Lock()
        self._busy = threading.Lock()
        self._run: steps.Run | None = None

    @classmethod
    def from_config(cls, table: Mapping[str, Any], *, name: str = "indi",
                    clock: Clock | None = None) -> IndiBackend:
        """Build from the ``[indi]`` table of a site's TOML configuration."""
        return cls(IndiConfig.from_mapping(table), name=name, clock=clock)

    @property
    def telescope_key(self) -> str:
        """Key of this telescope in ``Telemetry.mount`` and ``Telemetry.camera``."""
        return self.config.telescope_name or self.config.telescope

    @property
    def connected(self) -> bool:
        return self._link is not None and self._link.alive

    # ------------------------------------------------------------------ lifecycle
    def connect(self) -> None:
        """Connect to the server and to every configured device (idempotent).

        A backend whose server went away reconnects from scratch; on a live
        connection the devices are checked again and any that were
        disconnected (a driver restarted by ``indiserver``) are reconnected.

        Raises
        ------
        InstrumentError
            Naming the server if it cannot be reached, or the device (and the
            property) that is missing or refuses to connect.
        """
        cfg = self.config
        budget = 2 * cfg.connect_timeout_s + 4 * cfg.command_timeout_s + 5.0
        with self._connect_lock:
            if self._link is not None and self._link.alive:
                self._link.run(steps.setup(self._link, cfg), budget,
                               what="connecting the INDI devices")
                return
            if self._link is not None:
                self._link.close()
                self._link = None
            link = IndiLink(cfg.host, cfg.port)
            try:
                link.open(cfg.connect_timeout_s)
                link.run(steps.setup(link, cfg), budget, what="connecting the INDI devices")
            except BaseException:
                link.close()
                raise
            self._link = link

    def close(self) -> None:
        """Disconnect from the server (the devices stay connected to it); safe twice."""
        with self._connect_lock:
            if self._link is not None:
                self._link.close()
                self._link = None

    # ------------------------------------------------------------------ observe
    def observe(self, command: ObservationCommand) -> Exposure:
        """Slew, set the filter, expose and return the frame (see :mod:`.steps`).

        Returns an unsuccessful :class:`Exposure` without data when the site is
        closed, the target is below ``min_altitude_deg`` or the observation is
        cancelled.

        Raises
        ------
        InstrumentError
            On an invalid command, when not connected or busy, when a device
            fails or times out, and when the server goes away (``"INDI server
            HOST:PORT went away during exposure of CCD"``).
        """
        self._validate(command)
        link = self._link
        if link is None or not link.alive:
            reason = f" ({link.lost})" if link is not None and link.lost else ""
            raise InstrumentError(f"not connected to INDI server {self.config.address}{reason}; "
                                  "call connect() first")
        if not self._busy.acquire(blocking=False):
            current = self._run.command.observation_id if self._run else "?"
            raise InstrumentError(f"camera {self.config.ccd!r} is busy with observation "
                                  f"{current}")
        try:
            run = steps.Run(link, self.config, self._clock, command,
                            observatory=self.config.observatory or self.name)
            self._run = run
            return link.run(run.execute(), self._budget(command),
                            what=f"observation {command.observation_id}")
        finally:
            self._run = None
            self._busy.release()

    def _budget(self, command: ObservationCommand) -> float:
        """Outer bound on one observation (every step has its own, shorter, timeout)."""
        cfg = self.config
        return (cfg.slew_timeout_s * 2 + cfg.filter_timeout_s + command.exposure_s
                + cfg.readout_timeout_s + 4 * cfg.command_timeout_s + 10.0)

    def _validate(self, command: ObservationCommand) -> None:
        problems = []
        if not (math.isfinite(command.ra_deg) and 0.0 <= command.ra_deg < 360.0):
            problems.append(f"ra_deg {command.ra_deg!r} not in [0, 360)")
        if not (math.isfinite(command.dec_deg) and -90.0 <= command.dec_deg <= 90.0):
            problems.append(f"dec_deg {command.dec_deg!r} not in [-90, 90]")
        if not (math.isfinite(command.exposure_s) and 0.0 < command.exposure_s <= _MAX_EXPOSURE_S):
            problems.append(f"exposure_s {command.exposure_s!r} not in (0, {_MAX_EXPOSURE_S:.0f}]")
        if not command.filter:
            problems.append("no filter")
        name = self.config.telescope_name
        if name and command.telescope != name:
            problems.append(f"telescope {command.telescope!r} is not this site's ({name!r})")
        if problems:
            raise InstrumentError(f"invalid observation {command.observation_id!r}: "
                                  + "; ".join(problems))

    def cancel(self, observation_id: str) -> bool:
        """Abort the exposure and any slew of ``observation_id``; True if it was running."""
        run, link = self._run, self._link
        if run is None or run.command.observation_id != observation_id or link is None:
            return False
        run.cancelled = True
        try:
            link.run(steps.abort(link, self.config), self.config.command_timeout_s,
                     what="aborting")
        except InstrumentError:
            pass
        link.wake()
        return True

    # ------------------------------------------------------------------ telemetry
    def telemetry(self, now: datetime | None = None) -> Telemetry:
        """Weather, mount and camera as the devices report them.

        Never raises: without a server the telemetry is unhealthy, closed, and
        says why.
        """
        when = now or self._clock.now()
        link = self._link
        if link is not None and link.alive:
            try:
                return link.run(self._snapshot(link, when), self.config.command_timeout_s,
                                what="reading telemetry")
            except InstrumentError as exc:
                problem = str(exc)
        else:
            problem = (link.lost if link is not None and link.lost
                       else f"not connected to INDI server {self.config.address}")
        cfg = self.config
        conditions = Conditions(0.0, 0.0, 0.0, cfg.assumed_seeing_arcsec,
                                cfg.assumed_sky_v_mag_arcsec2, open=False, reason=problem)
        return Telemetry(time=when, conditions=conditions, mount={}, camera={}, healthy=False,
                         messages=(problem,))

    async def _snapshot(self, link: IndiLink, when: datetime) -> Telemetry:
        cfg = self.config
        messages: list[str] = []
        roles = steps.roles(cfg)
        present = link.devices()
        missing = [f"{role} {dev!r}" for dev, role in roles.items()
                   if link.switch(dev, "CONNECTION", "CONNECT") is False or dev not in present]
        if missing:
            messages.append("not connected: " + ", ".join(missing))
        conditions, notes = self._conditions(link)
        messages.extend(notes)
        mount = steps.mount_state(link, cfg, when)
        camera = CameraState(
            state=camera_state(link.state(cfg.ccd, "CCD_EXPOSURE"),
                               link.number(cfg.ccd, "CCD_EXPOSURE", "CCD_EXPOSURE_VALUE")),
            temperature_c=link.number(cfg.ccd, "CCD_TEMPERATURE", "CCD_TEMPERATURE_VALUE"),
            filter=steps.current_filter(link, cfg))
        key = self.telescope_key
        return Telemetry(time=when, conditions=conditions,
                         mount={key: mount} if mount else {}, camera={key: camera},
                         healthy=not missing, messages=tuple(messages))

    def _conditions(self, link: IndiLink) -> tuple[Conditions, tuple[str, ...]]:
        return steps.conditions(link, self.config)

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"IndiBackend({self.name!r}, {self.config.address}, {state})"


def create_backend(site: Site, options: Mapping[str, Any], *,
                   clock: Clock | None = None) -> IndiBackend:
    """The INDI backend of ``site`` from its ``[indi]`` table (``options``).

    What the table leaves out comes from the network's description of the
    site: ``latitude_deg``, ``longitude_deg`` and ``elevation_m`` (sent to the
    mount), ``observatory`` (the site's display name), and, when the site has
    exactly one telescope, ``telescope_name`` and ``min_altitude_deg``.

    Raises
    ------
    ValueError
        On an invalid table, or a site with several telescopes and no
        ``telescope_name`` (the backend drives one).
    """
    table = dict(options)
    if "latitude_deg" not in table and "longitude_deg" not in table:
        table.update(latitude_deg=site.latitude_deg, longitude_deg=site.longitude_deg)
        table.setdefault("elevation_m", site.elevation_m)
    table.setdefault("observatory", site.label)
    if "telescope_name" not in table:
        if len(site.telescopes) != 1:
            names = ", ".join(t.name for t in site.telescopes) or "none"
            raise ValueError(f"[indi] telescope_name is required: site {site.name!r} has "
                             f"telescopes {names} and the INDI backend drives one")
        table["telescope_name"] = site.telescopes[0].name
    scope = next((t for t in site.telescopes if t.name == table["telescope_name"]), None)
    if scope is None:
        raise ValueError(f"[indi] telescope_name {table['telescope_name']!r} is not a telescope "
                         f"of site {site.name!r}")
    table.setdefault("min_altitude_deg", scope.min_altitude_deg)
    return IndiBackend(IndiConfig.from_mapping(table), name=site.name, clock=clock)
