"""The network description: sites, their climate and effects, and their telescopes.

A network file is TOML; its schema is documented in ``docs/network-file.md``.
Values are validated on load; any problem raises :class:`NetworkFileError`
naming the file and the offending key.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import astropy.units as u
from astropy.coordinates import EarthLocation

__all__ = [
    "Climate",
    "Network",
    "NetworkFileError",
    "Site",
    "SiteEffects",
    "Telescope",
    "default_network_path",
    "load_network",
    "network_from_dict",
]


class NetworkFileError(ValueError):
    """A network file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class Climate:
    """Statistics of a site's sky, from which the simulator draws weather."""

    clear_night_fraction: float
    median_seeing_arcsec: float
    weather_persistence_hours: float = 4.0
    median_humidity: float = 0.4
    median_wind_m_s: float = 5.0
    dark_sky_v_mag_arcsec2: float = 21.5


@dataclass(frozen=True)
class SiteEffects:
    """What makes a site's frames differ from another's (seed: "site effects")."""

    colour_tint: float = 0.0
    vibration_arcsec: float = 0.0
    dew_onset_local_hour: float | None = None
    dust_extinction_mag: float = 0.0
    zero_point_drift_mag_per_hour: float = 0.0


@dataclass(frozen=True)
class Telescope:
    """One telescope and its camera."""

    name: str
    aperture_m: float
    field_of_view_arcmin: float
    filters: tuple[str, ...]
    slew_rate_deg_s: float
    readout_s: float
    settle_s: float = 10.0
    filter_change_s: float = 15.0
    min_altitude_deg: float = 20.0
    pixel_scale_arcsec: float = 1.0
    horizon: tuple[tuple[float, float], ...] = ()
    """Optional horizon map of this telescope (its dome slit, a neighbour's building):
    (azimuth deg, minimum altitude deg) pairs, on top of the site's."""

    @property
    def aperture(self) -> u.Quantity:
        return self.aperture_m * u.m

    @property
    def field_of_view(self) -> u.Quantity:
        return self.field_of_view_arcmin * u.arcmin


@dataclass(frozen=True)
class Site:
    """An observatory site of the network."""

    name: str
    latitude_deg: float
    longitude_deg: float
    elevation_m: float
    climate: Climate
    telescopes: tuple[Telescope, ...]
    display_name: str = ""
    timezone: str = "UTC"
    effects: SiteEffects = field(default_factory=SiteEffects)
    horizon: tuple[tuple[float, float], ...] = ()
    """Optional horizon map: (azimuth deg, minimum altitude deg) pairs."""

    @property
    def location(self) -> EarthLocation:
        return EarthLocation.from_geodetic(
            lon=self.longitude_deg * u.deg,
            lat=self.latitude_deg * u.deg,
            height=self.elevation_m * u.m,
        )

    @property
    def label(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True)
class Network:
    """A whole network: the sites and where the description came from."""

    name: str
    sites: tuple[Site, ...]
    source: str = ""

    def site(self, name: str) -> Site:
        for site in self.sites:
            if site.name == name:
                return site
        raise KeyError(f"no site named {name!r} in network {self.name!r}")

    def telescopes(self) -> list[tuple[Site, Telescope]]:
        return [(s, t) for s in self.sites for t in s.telescopes]

    def to_dict(self) -> dict[str, Any]:
        """The description as plain data in the network file's schema.

        ``network_from_dict(n.to_dict())`` gives back an equal network; the log
        records it so that a night can be replayed without the original file.
        """
        sites = []
        for site in self.sites:
            raw = asdict(site)
            raw["horizon"] = [list(p) for p in site.horizon]
            raw["effects"] = {k: v for k, v in raw["effects"].items() if v is not None}
            raw["telescopes"] = [{**scope, "filters": list(scope["filters"]),
                                  "horizon": [list(p) for p in scope["horizon"]]}
                                 for scope in raw["telescopes"]]
            sites.append(raw)
        return {"network": {"name": self.name}, "sites": sites}


def default_network_path() -> Path:
    """Path of the network file shipped with OpenAstro (three sites)."""
    return Path(str(resources.files("control_center.data").joinpath("default-network.toml")))


def load_network(path: str | Path | None = None) -> Network:
    """Load and validate a network file.

    Parameters
    ----------
    path : str or Path, optional
        TOML file; the shipped default network when omitted.

    Raises
    ------
    NetworkFileError
        If the file cannot be read or does not follow the schema.
    """
    path = Path(path) if path is not None else default_network_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NetworkFileError(f"{path}: network file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NetworkFileError(f"{path}: cannot read network file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise NetworkFileError(f"{path}: not valid TOML ({exc})") from None
    try:
        return _parse_network(raw, source=str(path))
    except _SchemaError as exc:
        raise NetworkFileError(f"{path}: {exc}") from None


def network_from_dict(raw: dict[str, Any], source: str = "") -> Network:
    """A network from plain data in the file schema (e.g. :meth:`Network.to_dict`).

    Raises
    ------
    NetworkFileError
        If the data does not follow the schema (the message names the key).
    """
    try:
        return _parse_network(raw, source=source)
    except _SchemaError as exc:
        raise NetworkFileError(f"{source or 'network'}: {exc}") from None


class _SchemaError(ValueError):
    pass


def _take(table: dict[str, Any], key: str, where: str, kind: type, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise _SchemaError(f"{where}.{key} is required")
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _SchemaError(f"{where}.{key} must be {kind.__name__}, got {value!r}")
    return value


def _in_range(value: float, lo: float, hi: float, name: str) -> float:
    if not lo <= value <= hi:
        raise _SchemaError(f"{name} = {value} is outside [{lo}, {hi}]")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _SchemaError(f"{where} has unknown key(s): {', '.join(unknown)}")


def _parse_network(raw: dict[str, Any], source: str) -> Network:
    _check_keys(raw, {"network", "sites"}, "file")
    meta = raw.get("network", {})
    _check_keys(meta, {"name"}, "[network]")
    sites_raw = raw.get("sites")
    if not isinstance(sites_raw, list) or not sites_raw:
        raise _SchemaError("at least one [[sites]] table is required")
    sites = tuple(_parse_site(s, i) for i, s in enumerate(sites_raw))
    names = [s.name for s in sites]
    if len(set(names)) != len(names):
        raise _SchemaError(f"site names must be unique, got {names}")
    scopes = [t.name for s in sites for t in s.telescopes]
    if len(set(scopes)) != len(scopes):
        raise _SchemaError(f"telescope names must be unique across the network, got {scopes}")
    return Network(name=_take(meta, "name", "[network]", str, "OpenAstro network"),
                   sites=sites, source=source)


_SITE_KEYS = {"name", "display_name", "latitude_deg", "longitude_deg", "elevation_m", "timezone",
              "climate", "effects", "telescopes", "horizon"}


def _parse_site(raw: Any, index: int) -> Site:
    where = f"sites[{index}]"
    if not isinstance(raw, dict):
        raise _SchemaError(f"{where} must be a table")
    _check_keys(raw, _SITE_KEYS, where)
    name = _take(raw, "name", where, str)
    where = f"site {name!r}"
    lat = _in_range(_take(raw, "latitude_deg", where, float), -90, 90, f"{where}.latitude_deg")
    lon = _in_range(_take(raw, "longitude_deg", where, float), -180, 360,
                    f"{where}.longitude_deg")
    elev = _in_range(_take(raw, "elevation_m", where, float), -500, 9000, f"{where}.elevation_m")
    climate = _parse_climate(_take(raw, "climate", where, dict), f"{where}.climate")
    effects = _parse_effects(_take(raw, "effects", where, dict, {}), f"{where}.effects")
    scopes_raw = _take(raw, "telescopes", where, list)
    if not scopes_raw:
        raise _SchemaError(f"{where} needs at least one [[sites.telescopes]]")
    telescopes = tuple(_parse_telescope(t, f"{where}.telescopes[{i}]")
                       for i, t in enumerate(scopes_raw))
    horizon = _parse_horizon(raw, where)
    return Site(
        name=name, latitude_deg=lat, longitude_deg=lon, elevation_m=elev, climate=climate,
        telescopes=telescopes, display_name=_take(raw, "display_name", where, str, ""),
        timezone=_take(raw, "timezone", where, str, "UTC"), effects=effects,
        horizon=horizon,
    )


def _parse_climate(raw: dict[str, Any], where: str) -> Climate:
    _check_keys(raw, set(Climate.__dataclass_fields__), where)
    return Climate(
        clear_night_fraction=_in_range(_take(raw, "clear_night_fraction", where, float), 0, 1,
                                       f"{where}.clear_night_fraction"),
        median_seeing_arcsec=_in_range(_take(raw, "median_seeing_arcsec", where, float), 0.1, 10,
                                       f"{where}.median_seeing_arcsec"),
        weather_persistence_hours=_in_range(
            _take(raw, "weather_persistence_hours", where, float, 4.0), 0.1, 240,
            f"{where}.weather_persistence_hours"),
        median_humidity=_in_range(_take(raw, "median_humidity", where, float, 0.4), 0, 1,
                                  f"{where}.median_humidity"),
        median_wind_m_s=_in_range(_take(raw, "median_wind_m_s", where, float, 5.0), 0, 60,
                                  f"{where}.median_wind_m_s"),
        dark_sky_v_mag_arcsec2=_in_range(_take(raw, "dark_sky_v_mag_arcsec2", where, float, 21.5),
                                         16, 23, f"{where}.dark_sky_v_mag_arcsec2"),
    )


def _parse_effects(raw: dict[str, Any], where: str) -> SiteEffects:
    _check_keys(raw, set(SiteEffects.__dataclass_fields__), where)
    dew = raw.get("dew_onset_local_hour")
    if dew is not None:
        dew = _in_range(_take(raw, "dew_onset_local_hour", where, float), 0, 24,
                        f"{where}.dew_onset_local_hour")
    return SiteEffects(
        colour_tint=_take(raw, "colour_tint", where, float, 0.0),
        vibration_arcsec=_in_range(_take(raw, "vibration_arcsec", where, float, 0.0), 0, 10,
                                   f"{where}.vibration_arcsec"),
        dew_onset_local_hour=dew,
        dust_extinction_mag=_in_range(_take(raw, "dust_extinction_mag", where, float, 0.0), 0, 5,
                                      f"{where}.dust_extinction_mag"),
        zero_point_drift_mag_per_hour=_take(raw, "zero_point_drift_mag_per_hour", where, float,
                                            0.0),
    )


def _parse_telescope(raw: Any, where: str) -> Telescope:
    if not isinstance(raw, dict):
        raise _SchemaError(f"{where} must be a table")
    _check_keys(raw, set(Telescope.__dataclass_fields__), where)
    name = _take(raw, "name", where, str)
    where = f"telescope {name!r}"
    filters = _take(raw, "filters", where, list)
    if not filters or not all(isinstance(f, str) and f for f in filters):
        raise _SchemaError(f"{where}.filters must be a non-empty list of filter names")

    def positive(key: str, default: Any = ...) -> float:
        value = _take(raw, key, where, float, default)
        if value <= 0:
            raise _SchemaError(f"{where}.{key} must be positive, got {value}")
        return value

    def non_negative(key: str, default: Any = ...) -> float:
        value = _take(raw, key, where, float, default)
        if value < 0:
            raise _SchemaError(f"{where}.{key} must not be negative, got {value}")
        return value

    return Telescope(
        name=name,
        aperture_m=positive("aperture_m"),
        field_of_view_arcmin=positive("field_of_view_arcmin"),
        filters=tuple(filters),
        slew_rate_deg_s=positive("slew_rate_deg_s"),
        readout_s=non_negative("readout_s"),
        settle_s=non_negative("settle_s", 10.0),
        filter_change_s=non_negative("filter_change_s", 15.0),
        min_altitude_deg=_in_range(_take(raw, "min_altitude_deg", where, float, 20.0), 0, 89,
                                   f"{where}.min_altitude_deg"),
        pixel_scale_arcsec=positive("pixel_scale_arcsec", 1.0),
        horizon=_parse_horizon(raw, where),
    )


def _parse_horizon(raw: dict[str, Any], where: str) -> tuple[tuple[float, float], ...]:
    horizon = []
    for i, pair in enumerate(_take(raw, "horizon", where, list, [])):
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(v, int | float) for v in pair)):
            raise _SchemaError(f"{where}.horizon[{i}] must be [azimuth_deg, altitude_deg]")
        horizon.append((_in_range(float(pair[0]), 0, 360, f"{where}.horizon[{i}] azimuth"),
                        _in_range(float(pair[1]), 0, 90, f"{where}.horizon[{i}] altitude")))
    return tuple(sorted(horizon))
