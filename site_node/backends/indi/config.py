"""The ``[indi]`` table of a site's configuration, validated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["IndiConfig"]


@dataclass(frozen=True)
class IndiConfig:
    """Where the INDI server is, which devices to drive and how long to wait for them.

    Attributes
    ----------
    host, port : str, int
        The INDI server (``indiserver`` listens on 7624 by default).
    telescope, ccd : str
        INDI device names of the mount and the camera (required devices).
    weather, wheel, dome : str or None
        Optional devices: a weather station (``WEATHER_STATUS`` and
        ``WEATHER_PARAMETERS``), a filter wheel (``FILTER_SLOT``, ``FILTER_NAME``;
        may be the camera itself when it has an internal wheel) and a dome
        (``DOME_SHUTTER``).
    telescope_name : str or None
        The network's name for this telescope: the key of ``Telemetry.mount``
        and ``Telemetry.camera``. When set, commands for another telescope are
        refused; when None the INDI device name is the key and any command is run.
    observatory : str
        Written to the ``OBSERVAT`` FITS header when the camera does not set it.
    filters : mapping of str to str or int
        Our filter name -> the wheel's slot name or slot number, for filters
        whose names differ from the wheel's (``{"R": "Red", "L": 8}``). Names
        that match a slot name exactly need no entry.
    latitude_deg, longitude_deg, elevation_m : float or None
        The site's position, sent to the mount (``GEOGRAPHIC_COORD``) on
        connect when given; otherwise the mount's own setting is used.
    min_altitude_deg : float
        Targets lower than this (computed from the mount's position) are refused.
    connect_timeout_s, slew_timeout_s, filter_timeout_s, readout_timeout_s : float
        How long to wait for devices and properties to appear, for a slew to
        finish, for the wheel to settle, and for the frame to arrive after the
        exposure time has elapsed.
    command_timeout_s : float
        How long a single property change (connect a device, unpark) may take.
    slew_tolerance_deg : float
        How close the reported position must be to the target once the mount
        says the slew is over.
    assumed_seeing_arcsec, assumed_sky_v_mag_arcsec2 : float
        Reported in ``Conditions`` when no device measures them.

    Examples
    --------
    >>> cfg = IndiConfig.from_mapping({"host": "10.0.0.5", "ccd": "ZWO CCD ASI1600MM Pro",
    ...                                "filters": {"R": "Red"}})
    >>> cfg.port, cfg.filters["R"]
    (7624, 'Red')
    """

    host: str = "127.0.0.1"
    port: int = 7624
    telescope: str = "Telescope Simulator"
    ccd: str = "CCD Simulator"
    weather: str | None = "Weather Simulator"
    wheel: str | None = None
    dome: str | None = None
    telescope_name: str | None = None
    observatory: str = ""
    filters: Mapping[str, str | int] = field(default_factory=dict)
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    elevation_m: float | None = None
    min_altitude_deg: float = 0.0
    connect_timeout_s: float = 10.0
    command_timeout_s: float = 10.0
    slew_timeout_s: float = 180.0
    filter_timeout_s: float = 60.0
    readout_timeout_s: float = 60.0
    slew_tolerance_deg: float = 0.1
    assumed_seeing_arcsec: float = 2.0
    assumed_sky_v_mag_arcsec2: float = 21.0

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("[indi] host must not be empty")
        if not (isinstance(self.port, int) and 0 < self.port < 65536):
            raise ValueError(f"[indi] port must be an integer in 1..65535, got {self.port!r}")
        for name in ("telescope", "ccd"):
            if not getattr(self, name):
                raise ValueError(f"[indi] {name} (an INDI device name) must not be empty")
        for f in fields(self):
            if f.name.endswith("_s") and not (getattr(self, f.name) > 0):
                raise ValueError(f"[indi] {f.name} must be > 0, got {getattr(self, f.name)!r}")
        if (self.latitude_deg is None) != (self.longitude_deg is None):
            raise ValueError("[indi] give both latitude_deg and longitude_deg, or neither")
        if self.latitude_deg is not None and not -90.0 <= self.latitude_deg <= 90.0:
            raise ValueError(f"[indi] latitude_deg out of range: {self.latitude_deg}")
        if not (math.isfinite(self.slew_tolerance_deg) and self.slew_tolerance_deg > 0):
            raise ValueError("[indi] slew_tolerance_deg must be > 0")
        bad = [k for k, v in self.filters.items()
               if isinstance(v, bool) or not isinstance(v, str | int)]
        if bad:
            raise ValueError(f"[indi.filters] {', '.join(map(repr, bad))} must map to a slot "
                             "name or number")

    @property
    def devices(self) -> dict[str, str]:
        """Role -> INDI device name of every configured device (``telescope``, ``ccd``, ...)."""
        roles = {"telescope": self.telescope, "ccd": self.ccd, "weather": self.weather,
                 "wheel": self.wheel, "dome": self.dome}
        return {role: name for role, name in roles.items() if name}

    @property
    def address(self) -> str:
        """``host:port`` of the server, for messages."""
        return f"{self.host}:{self.port}"

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> IndiConfig:
        """Build from the ``[indi]`` table of a TOML file.

        Raises
        ------
        ValueError
            On an unknown key (the message names it and lists the known ones)
            or an invalid value.
        """
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise ValueError(f"[indi] unknown key(s) {', '.join(unknown)}; known keys: "
                             f"{', '.join(known)}")
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key == "filters":
                if not isinstance(value, Mapping):
                    raise ValueError("[indi] filters must be a table of name = slot")
                values[key] = dict(value)
            elif key in ("host", "telescope", "ccd", "weather", "wheel", "dome",
                         "telescope_name", "observatory"):
                if not isinstance(value, str):
                    raise ValueError(f"[indi] {key} must be a string, got {value!r}")
                optional = key in ("weather", "wheel", "dome", "telescope_name")
                values[key] = (value or None) if optional else value
            elif key == "port":
                values[key] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"[indi] {key} must be a number, got {value!r}")
                values[key] = float(value)
        return cls(**values)
