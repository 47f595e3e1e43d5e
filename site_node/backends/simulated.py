"""The simulated instrument backend: one site of the simulator, frames rendered on demand.

Time is simulated: every command carries its start time and executes at once in
wall time. The simulator (:class:`simulator.SimulatedSite`) covers a span: the
span pinned by :meth:`SimulatedBackend.use_span` (the control center pins the
night it plans, so results match an in-process simulation of the same seed), or
else the night (local noon to local noon) around the command's start, built
lazily and cached.

The backend remembers where each telescope points and which filter it holds,
so slews and filter changes cost what they would on the sky.

Frames come from a renderer with the signature of
``simulator.frames.frame_for_observation(simulated_site, observation, *, seed,
shape, artefacts, transients) -> HDUList`` (the default when it is importable;
otherwise :func:`plain_frame`, a flat sky with noise). A renderer that also
takes ``object_name`` and ``sky_transients`` gets the command's target name (a
programme star is then drawn at its magnitude at that time,
:mod:`simulator.variability`) and ``sky_transients=True`` (the simulated sky's
transients in the field are drawn: what the edge pipeline can find).
"""

from __future__ import annotations

import inspect
import json
import math
import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from control_center.clock import Clock, RealClock
from control_center.network import Site
from control_center.plugin_api.types import Conditions
from site_node.backends.base import (
    CameraState,
    Exposure,
    InstrumentError,
    MountState,
    ObservationCommand,
    Telemetry,
)
from site_node.config import SimulatedOptions

__all__ = ["FrameRenderer", "SimulatedBackend", "default_renderer", "plain_frame"]

FrameRenderer = Callable[..., Any]
"""``(simulated_site, observation, *, seed, shape, artefacts, transients) -> HDUList``."""

_CACHED_NIGHTS = 3


def plain_frame(simulated_site: Any, observation: Any, *, seed: int,
                shape: tuple[int, int] = (1024, 1024), artefacts: tuple[str, ...] = (),
                transients: int = 0) -> Any:
    """A stand-in frame: flat sky at the observation's sky level plus Gaussian noise.

    Used only when ``simulator.frames`` is not installed; it carries the
    observation's basic header keys but no stars.
    """
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    sky = 1000.0 * 10 ** (-0.4 * (getattr(observation.outcome, "sky_mag_arcsec2", 21.0) - 21.0))
    sky = sky if math.isfinite(sky) else 1000.0
    data = (sky + rng.normal(0.0, math.sqrt(sky) + 8.0, shape)).astype(np.float32)
    header = fits.Header()
    header["TELESCOP"] = observation.telescope
    header["FILTER"] = observation.filter
    header["EXPTIME"] = observation.exposure_s
    header["RA"] = observation.ra_deg
    header["DEC"] = observation.dec_deg
    header["DATE-OBS"] = observation.exposure_start.strftime("%Y-%m-%dT%H:%M:%S.%f")
    header["ORIGIN"] = "openastro plain_frame"
    return fits.HDUList([fits.PrimaryHDU(data=data, header=header)])


def default_renderer() -> FrameRenderer:
    """``simulator.frames.frame_for_observation`` when present, else :func:`plain_frame`."""
    try:
        from simulator.frames import frame_for_observation
    except ImportError:
        return plain_frame
    return frame_for_observation


def _night_of(t: datetime, longitude_deg: float) -> tuple[datetime, datetime]:
    """Local (mean solar) noon before ``t`` to the next local noon."""
    hours = (t.hour + t.minute / 60 + t.second / 3600 + longitude_deg / 15.0) % 24.0
    start = t - timedelta(hours=(hours - 12.0) % 24.0)
    start = start.replace(second=0, microsecond=0)
    return start, start + timedelta(hours=24, minutes=1)


class SimulatedBackend:
    """An :class:`~site_node.backends.base.InstrumentBackend` over the simulator.

    Parameters
    ----------
    site : Site
        The site this node runs.
    seed : int
        Seed of weather, luck and frames (the same as the control center's
        simulation to reproduce it).
    options : SimulatedOptions, optional
        Frame rendering: on or off, shape, transients and artefacts.
    renderer : callable, optional
        Frame renderer (see :data:`FrameRenderer`); default :func:`default_renderer`.
    clock : Clock, optional
        Used for telemetry before any simulated time was seen.
    span_file : Path, optional
        Where the pinned span is remembered, so a restarted node simulates the
        same night.
    """

    name = "simulated"

    def __init__(self, site: Site, seed: int, *, options: SimulatedOptions | None = None,
                 renderer: FrameRenderer | None = None, clock: Clock | None = None,
                 span_file: Path | None = None) -> None:
        self.site, self.seed = site, seed
        self.options = options or SimulatedOptions()
        self._renderer = renderer
        self.clock = clock or RealClock()
        self._lock = threading.RLock()
        self._pinned: Any = None
        self._nights: dict[tuple[datetime, datetime], Any] = {}
        self._pointing: dict[str, tuple[float, float]] = {}
        self._filter: dict[str, str] = {}
        self.latest_time: datetime | None = None
        self.span_file = span_file

    # -- lifecycle -----------------------------------------------------------------------

    def connect(self) -> None:
        """Restore the pinned span of a previous run (the simulator is in-process)."""
        if self.span_file is not None and self.span_file.is_file():
            span = json.loads(self.span_file.read_text(encoding="utf-8"))
            self.use_span(datetime.fromisoformat(span["start"]),
                          datetime.fromisoformat(span["end"]))

    def close(self) -> None:
        """Forget the cached simulations."""
        with self._lock:
            self._nights.clear()
            self._pinned = None

    @property
    def renderer(self) -> FrameRenderer:
        if self._renderer is None:
            self._renderer = default_renderer()
        return self._renderer

    # -- simulated spans -----------------------------------------------------------------

    def use_span(self, start: datetime, end: datetime) -> Any:
        """Pin the simulated span (what the control center plans); returns the simulation."""
        from simulator import SimulatedSite

        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            raise ValueError(f"span end {end} must be after its start {start}")
        with self._lock:
            pinned = self._pinned
            if pinned is None or (pinned.start, pinned.end) != (start, end):
                self._pinned = SimulatedSite(self.site, self.seed, start, end)
                if self.span_file is not None:
                    self.span_file.write_text(json.dumps({"start": start.isoformat(),
                                                          "end": end.isoformat()}))
            self._seen(start)
            return self._pinned

    def simulation_at(self, t: datetime) -> Any:
        """The simulation covering ``t``: the pinned span, or the night around ``t``."""
        from simulator import SimulatedSite

        t = t.astimezone(UTC)
        with self._lock:
            pinned = self._pinned
            if pinned is not None and pinned.start <= t <= pinned.end:
                return pinned
            span = _night_of(t, self.site.longitude_deg)
            sim = self._nights.get(span)
            if sim is None:
                sim = SimulatedSite(self.site, self.seed, *span)
                self._nights[span] = sim
                while len(self._nights) > _CACHED_NIGHTS:
                    self._nights.pop(next(iter(self._nights)))
            return sim

    def condition_timeline(self, start: datetime, end: datetime,
                           min_interval_s: float = 600.0) -> list[tuple[datetime, Conditions]]:
        """Pin ``start``-``end`` and return when the conditions change in it."""
        return self.use_span(start, end).condition_changes(min_interval_s)

    def _seen(self, t: datetime) -> None:
        if self.latest_time is None or t > self.latest_time:
            self.latest_time = t

    # -- the instrument ------------------------------------------------------------------

    def telemetry(self, now: datetime | None = None) -> Telemetry:
        """Conditions at ``now`` (default: the latest simulated time seen), mounts, cameras."""
        t = now or self.latest_time or self.clock.now()
        sim = self.simulation_at(t)
        mounts, cameras = {}, {}
        for scope in self.site.telescopes:
            pointing = self._pointing.get(scope.name)
            if pointing is None:
                mounts[scope.name] = MountState(None, None, None, None, tracking=False,
                                                slewing=False, parked=True)
            else:
                alt, az = sim.altaz(pointing[0], pointing[1], t)
                mounts[scope.name] = MountState(pointing[0], pointing[1], float(alt), float(az),
                                                tracking=True, slewing=False)
            cameras[scope.name] = CameraState("idle", -20.0, self._filter.get(scope.name))
        return Telemetry(time=t, conditions=sim.conditions(t), mount=mounts, camera=cameras)

    def observe(self, command: ObservationCommand) -> Exposure:
        """Run the observation in the simulator and render its frame if the shutter opened.

        A programme star is met at its magnitude at the start
        (:func:`simulator.variability.target_v_mag`).
        """
        from simulator.variability import target_v_mag

        start = (command.start or self.latest_time or self.clock.now()).astimezone(UTC)
        sim = self.simulation_at(start)
        with self._lock:
            pointing = self._pointing.get(command.telescope)
            current = self._filter.get(command.telescope)
        try:
            obs = sim.observe(command.telescope, command.ra_deg, command.dec_deg,
                              target_v_mag(self.seed, command.target, command.v_mag, start),
                              command.filter, command.exposure_s, command.priority, start,
                              pointing, current)
        except (KeyError, ValueError) as exc:
            raise InstrumentError(f"simulated {self.site.name}: {exc.args[0]}") from None
        with self._lock:
            self._pointing[command.telescope] = (command.ra_deg, command.dec_deg)
            self._filter[command.telescope] = command.filter
            self._seen(obs.end)
        frame = None
        if self.options.render and self._shutter_opened(sim, obs):
            frame = self.renderer(sim, obs, seed=self._frame_seed(command.observation_id),
                                  shape=self.options.frame_shape,
                                  artefacts=self.options.artefacts,
                                  transients=self.options.transients,
                                  **self._sky_kwargs(command))
        return Exposure(command=command, start=obs.start, end=obs.end, frame=frame,
                        success=obs.success, reason=obs.outcome.reason,
                        conditions=obs.conditions, truth=_truth(obs))

    def cancel(self, observation_id: str) -> bool:
        """Simulated observations complete at once: nothing is ever in progress."""
        return False

    def _sky_kwargs(self, command: ObservationCommand) -> dict[str, Any]:
        """What the sky holds beyond the catalogue, for renderers that take it: the
        target's name (a programme star is drawn at its magnitude) and the sky's
        transients in the field."""
        try:
            accepted = inspect.signature(self.renderer).parameters
        except (TypeError, ValueError):
            return {}
        wanted = {"object_name": command.target or None, "sky_transients": True}
        return {k: v for k, v in wanted.items() if k in accepted}

    def _frame_seed(self, observation_id: str) -> int:
        return (self.seed * 1_000_003 + zlib.crc32(observation_id.encode())) % (1 << 63)

    def _shutter_opened(self, sim: Any, obs: Any) -> bool:
        """Dome open, sun down and target above the limit: a frame exists."""
        from simulator.horizon import to_seconds
        from simulator.outcome import altitude_limit_deg

        if not obs.conditions.open:
            return False
        mid = to_seconds(obs.exposure_start) + obs.exposure_s / 2
        if sim.ephemeris.sun_altitude(mid) > -6.0:
            return False
        scope = sim.telescopes[obs.telescope]
        return obs.altitude_deg >= altitude_limit_deg(self.site, scope, obs.azimuth_deg)


def _truth(obs: Any) -> dict[str, Any]:
    o = obs.outcome
    return {"snr": o.snr, "seeing_arcsec": o.seeing_arcsec, "airmass": o.airmass,
            "science_value": o.science_value, "quality": o.quality,
            "sky_mag_arcsec2": o.sky_mag_arcsec2, "zero_point_mag": o.zero_point_mag,
            "transparency": o.transparency, "altitude_deg": obs.altitude_deg,
            "azimuth_deg": obs.azimuth_deg, "exposure_start": obs.exposure_start,
            "detections": [dict(d) for d in getattr(obs, "detections", ())]}
