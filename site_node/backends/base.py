"""The interface every instrument backend implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from control_center.plugin_api.types import Conditions

__all__ = [
    "CameraState",
    "Exposure",
    "InstrumentBackend",
    "InstrumentError",
    "MountState",
    "ObservationCommand",
    "Telemetry",
]


class InstrumentError(RuntimeError):
    """The instrument could not do what was asked (names the device and the cause)."""


@dataclass(frozen=True)
class ObservationCommand:
    """One observation a site is asked to execute."""

    observation_id: str
    request_id: str
    telescope: str
    ra_deg: float
    dec_deg: float
    filter: str
    exposure_s: float
    target: str = ""
    priority: float = 0.0
    v_mag: float | None = None
    start: datetime | None = None
    """Simulated start time (simulated backends); None means "now" on real hardware."""


@dataclass(frozen=True)
class MountState:
    ra_deg: float | None
    dec_deg: float | None
    alt_deg: float | None
    az_deg: float | None
    tracking: bool
    slewing: bool
    parked: bool = False


@dataclass(frozen=True)
class CameraState:
    state: str
    """``idle``, ``exposing``, ``reading`` or ``error``."""
    temperature_c: float | None
    filter: str | None


@dataclass(frozen=True)
class Telemetry:
    """A snapshot of a site: sky, mount, camera and health."""

    time: datetime
    conditions: Conditions
    mount: Mapping[str, MountState]
    camera: Mapping[str, CameraState]
    healthy: bool = True
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exposure:
    """What an observation produced.

    ``frame`` is the FITS (``astropy.io.fits.HDUList``) or None when no data
    was taken (dome closed, fault). ``truth`` carries what only a simulator
    knows (injected sources, the outcome model's signal-to-noise and value);
    it is empty for real hardware.
    """

    command: ObservationCommand
    start: datetime
    end: datetime
    frame: Any
    success: bool
    reason: str = ""
    conditions: Conditions | None = None
    truth: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class InstrumentBackend(Protocol):
    """A site's instruments: one or more telescopes with cameras, and a weather station."""

    name: str

    def connect(self) -> None:
        """Connect to the devices (raises InstrumentError naming what failed)."""

    def close(self) -> None:
        """Disconnect; safe to call twice."""

    def telemetry(self, now: datetime | None = None) -> Telemetry:
        """Current state (``now`` is the simulated time for simulated backends)."""

    def observe(self, command: ObservationCommand) -> Exposure:
        """Slew, set the filter, expose and read out; blocks until done.

        Raises InstrumentError when a device fails mid-way.
        """

    def cancel(self, observation_id: str) -> bool:
        """Abort an observation in progress; True if one was aborted."""
