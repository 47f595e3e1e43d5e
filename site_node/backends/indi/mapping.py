"""From INDI property values to OpenAstro's types: conditions, camera state, frames.

Pure functions over plain values, so they are tested without a server.

Weather (standard INDI weather properties, ``WEATHER_PARAMETERS`` members):

=========================  ===================================================
``Conditions`` field        source
=========================  ===================================================
``cloud_cover`` (0-1)       ``WEATHER_CLOUD_COVER`` (%), else ``WEATHER_FORECAST``
                            (0 good, 1 warning, 2 bad -> 0, 0.5, 1), else 0
``humidity`` (0-1)          ``WEATHER_HUMIDITY`` (%), else 0
``wind_m_s``                ``WEATHER_WIND_SPEED`` (km/h, the INDI unit), else 0
``seeing_arcsec``           ``WEATHER_SEEING`` (arcsec), else the configured assumption
``sky_v_mag_arcsec2``       ``WEATHER_SKY_BRIGHTNESS`` / ``SKY_BRIGHTNESS`` (SQM),
                            else the configured assumption
``open`` / ``reason``       ``WEATHER_STATUS``: Ok -> open; Busy (warning) -> open,
                            the reason names the parameters; Alert -> closed, the
                            reason names them; Idle or absent -> closed. A dome
                            whose shutter is closed (or that is parked) closes too.
=========================  ===================================================

Values that were not measured are listed in the returned messages.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from control_center.plugin_api.types import Conditions
from site_node.backends.base import InstrumentError, ObservationCommand

__all__ = ["camera_state", "conditions_from_weather", "read_frame", "stamp_headers"]

_KMH_TO_M_S = 1.0 / 3.6


def _pretty(member: str) -> str:
    """``WEATHER_WIND_SPEED`` -> ``wind speed``."""
    name = member.removeprefix("WEATHER_")
    return name.replace("_", " ").lower()


def _first(params: Mapping[str, float], *names: str) -> float | None:
    return next((params[n] for n in names if n in params), None)


def conditions_from_weather(
    params: Mapping[str, float] | None,
    status_state: str | None,
    status_lights: Mapping[str, str],
    *,
    station: str | None,
    assumed_seeing_arcsec: float,
    assumed_sky_v_mag_arcsec2: float,
    dome_closed: bool | None = None,
    dome: str | None = None,
) -> tuple[Conditions, tuple[str, ...]]:
    """Conditions from a weather station's properties (see the module docstring).

    Parameters
    ----------
    params : mapping or None
        ``WEATHER_PARAMETERS`` as member -> float; None if the station is
        configured but sent nothing (not connected, not found).
    status_state : str or None
        State of ``WEATHER_STATUS`` (``Idle``, ``Ok``, ``Busy``, ``Alert``).
    status_lights : mapping
        ``WEATHER_STATUS`` members -> light state.
    station : str or None
        The station's device name; None when the site has none.
    dome_closed : bool or None
        True when the dome's shutter is closed (or it is parked); None: no dome.

    Returns
    -------
    (Conditions, tuple of str)
        The conditions and the messages about unmeasured values.

    Examples
    --------
    >>> c, notes = conditions_from_weather(
    ...     {"WEATHER_WIND_SPEED": 36.0, "WEATHER_FORECAST": 0.0}, "Alert",
    ...     {"WEATHER_RAIN_HOUR": "Alert", "WEATHER_WIND_SPEED": "Ok"},
    ...     station="Weather Simulator", assumed_seeing_arcsec=2.0,
    ...     assumed_sky_v_mag_arcsec2=21.0)
    >>> c.wind_m_s, c.open, c.reason
    (10.0, False, 'weather alert: rain hour')
    """
    p = dict(params or {})
    notes: list[str] = []
    cloud = _first(p, "WEATHER_CLOUD_COVER", "WEATHER_CLOUDS")
    if cloud is not None:
        cloud_cover = cloud / 100.0
    elif "WEATHER_FORECAST" in p:
        cloud_cover = p["WEATHER_FORECAST"] / 2.0
    else:
        cloud_cover = 0.0
        notes.append("cloud cover")
    humidity = _first(p, "WEATHER_HUMIDITY")
    if humidity is None:
        notes.append("humidity")
    wind = _first(p, "WEATHER_WIND_SPEED")
    if wind is None:
        notes.append("wind")
    seeing = _first(p, "WEATHER_SEEING")
    if seeing is None:
        notes.append("seeing")
    sky = _first(p, "WEATHER_SKY_BRIGHTNESS", "SKY_BRIGHTNESS", "WEATHER_SQM")
    if sky is None:
        notes.append("sky brightness")

    if station is None:
        is_open, reason = True, "no weather station configured"
    elif params is None:
        is_open, reason = False, f"no data from weather station {station!r}"
    elif status_state == "Alert":
        bad = [_pretty(m) for m, s in status_lights.items() if s == "Alert"]
        is_open, reason = False, "weather alert: " + (", ".join(bad) or "unspecified")
    elif status_state == "Busy":
        warn = [_pretty(m) for m, s in status_lights.items() if s == "Busy"]
        is_open, reason = True, "weather warning: " + (", ".join(warn) or "unspecified")
    elif status_state == "Ok":
        is_open, reason = True, ""
    else:
        is_open, reason = False, f"weather status of {station!r} unknown"
    if dome_closed:
        is_open = False
        reason = "; ".join(r for r in (reason, f"dome {dome!r} closed") if r)

    conditions = Conditions(
        cloud_cover=min(max(cloud_cover, 0.0), 1.0),
        humidity=0.0 if humidity is None else min(max(humidity / 100.0, 0.0), 1.0),
        wind_m_s=0.0 if wind is None else max(wind * _KMH_TO_M_S, 0.0),
        seeing_arcsec=assumed_seeing_arcsec if seeing is None else seeing,
        sky_v_mag_arcsec2=assumed_sky_v_mag_arcsec2 if sky is None else sky,
        open=is_open, reason=reason)
    messages = (f"not measured (assumed): {', '.join(notes)}",) if notes and params else ()
    return conditions, messages


def camera_state(exposure_state: str | None, seconds_left: float | None) -> str:
    """``idle``, ``exposing``, ``reading`` or ``error`` from ``CCD_EXPOSURE``.

    Examples
    --------
    >>> camera_state("Busy", 3.0), camera_state("Busy", 0.0), camera_state("Alert", 0.0)
    ('exposing', 'reading', 'error')
    """
    if exposure_state == "Busy":
        return "exposing" if (seconds_left or 0.0) > 0.0 else "reading"
    if exposure_state == "Alert":
        return "error"
    return "idle"


def read_frame(data: bytes, fmt: str, *, device: str) -> Any:
    """An ``astropy.io.fits.HDUList`` from a BLOB.

    ``fmt`` is the BLOB's format: ``.fits``, ``.fits.fz`` (tile-compressed,
    read as is) or ``.fits.z`` (zlib, INDI's older compression).

    Raises
    ------
    InstrumentError
        If the BLOB is not FITS or astropy cannot read it (names ``device``).
    """
    from astropy.io import fits

    fmt = (fmt or "").lower()
    if ".fits" not in fmt and ".fit" not in fmt and fmt not in ("", ".fz"):
        raise InstrumentError(f"camera {device!r} sent a {fmt!r} frame, not FITS; "
                              "set its CCD_TRANSFER_FORMAT to FITS")
    try:
        if fmt.endswith(".z"):
            data = zlib.decompress(data)
        hdul = fits.open(io.BytesIO(data), lazy_load_hdus=False)
        hdul.verify("silentfix")
        image = next((h for h in hdul if getattr(h, "is_image", False) and h.data is not None),
                     None)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the camera's bad frame
        raise InstrumentError(f"camera {device!r} sent a frame astropy cannot read "
                              f"({len(data)} bytes, format {fmt!r}): {exc}") from None
    if image is None:
        raise InstrumentError(f"camera {device!r} sent a FITS file without image data")
    return hdul


def stamp_headers(hdul: Any, command: ObservationCommand, *, observatory: str,
                  start: datetime, wheel_filter: str | None = None) -> None:
    """Add OpenAstro's headers to the first image HDU where the camera did not set them.

    Always set: ``OBSID`` and ``REQID`` (the command's ids) and ``FILTER`` (our
    filter name; a different name the camera wrote is kept as ``WHEELFLT``).
    Set when missing: ``OBSERVAT``, ``TELESCOP``, ``OBJECT``, ``DATE-OBS``,
    ``EXPTIME``, ``RA``/``DEC`` (the commanded ICRS position).
    """
    image = next(h for h in hdul if getattr(h, "is_image", False) and h.data is not None)
    hdr = image.header
    theirs = str(hdr.get("FILTER", wheel_filter or "")).strip()
    if theirs and theirs != command.filter:
        hdr["WHEELFLT"] = (theirs, "filter name in the wheel")
    hdr["FILTER"] = (command.filter, "OpenAstro filter name")
    hdr["OBSID"] = (command.observation_id, "OpenAstro observation id")
    hdr["REQID"] = (command.request_id, "OpenAstro request id")
    defaults = {
        "OBSERVAT": (observatory, "observatory"),
        "TELESCOP": (command.telescope, "telescope"),
        "OBJECT": (command.target, "target"),
        "DATE-OBS": (start.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3], "UTC start of exposure"),
        "EXPTIME": (float(command.exposure_s), "[s] exposure time"),
        "RA": (float(command.ra_deg), "[deg] commanded RA (ICRS)"),
        "DEC": (float(command.dec_deg), "[deg] commanded Dec (ICRS)"),
    }
    for key, (value, comment) in defaults.items():
        if value not in ("", None) and key not in hdr:
            hdr[key] = (value, comment)
