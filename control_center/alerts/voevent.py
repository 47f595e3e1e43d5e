"""VOEvent 2.0 (IVOA) notices: the XML of GCN Classic, LVK, AMON/IceCube and others.

Namespace-tolerant (elements are matched by local name, with or without the
``voe:`` prefix). Documents with a DTD or entity declarations are refused
(they are never needed and are the usual XML attack).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from control_center.alerts.kinds import kind_from_clues, kind_from_packet_type
from control_center.alerts.model import ALERT_ROLES, Alert, AlertParseError, parse_time
from control_center.alerts.skyrefs import resolve_skymap

__all__ = ["parse_voevent"]

_MAX_PARAMS = 60
_MAX_VALUE = 200
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ANGLE_UNITS = {"deg": 1.0, "degree": 1.0, "degrees": 1.0,
                "rad": math.degrees(1.0), "radian": math.degrees(1.0),
                "radians": math.degrees(1.0), "arcmin": 1 / 60.0, "arcsec": 1 / 3600.0}


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _child(element: ET.Element | None, *path: str) -> ET.Element | None:
    for name in path:
        if element is None:
            return None
        element = next(iter(_children(element, name)), None)
    return element


def _text(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def parse_voevent(data: bytes, *, base_dir: Path | None = None) -> Alert:
    """Parse a VOEvent 2.0 document into an :class:`Alert`.

    Parameters
    ----------
    data : bytes
        The XML document.
    base_dir : Path, optional
        Directory of the document: a skymap parameter naming a relative path
        (or a URL whose file was saved there) is read from it.

    Raises
    ------
    AlertParseError
        Malformed XML, not a VOEvent, missing ivorn or date, bad coordinates,
        no position and no usable skymap.
    """
    if _DECLARATION.search(data[:4096]):
        raise AlertParseError("XML with a DTD or entity declarations is not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise AlertParseError(f"malformed XML: {exc}") from None
    if _local(root.tag) != "VOEvent":
        raise AlertParseError(f"root element is <{_local(root.tag)}>, not <VOEvent>")
    ivorn = (root.get("ivorn") or "").strip()
    if not ivorn.startswith("ivo://") or len(ivorn) <= len("ivo://"):
        raise AlertParseError(f"VOEvent ivorn {ivorn!r} is missing or not an ivo:// URI")
    role = (root.get("role") or "observation").strip().lower()
    if role not in ALERT_ROLES:
        raise AlertParseError(f"role {role!r} is not one of {', '.join(ALERT_ROLES)}", ivorn)
    issued = parse_time(_text(_child(root, "Who", "Date")), "Who/Date", ivorn)
    if issued is None:
        raise AlertParseError("Who/Date is missing", ivorn)

    params = _params(root)
    cites = _citations(root)
    event_time, position, error = _where_when(root, ivorn)
    why = _child(root, "Why")
    concepts = [] if why is None else [c.text or "" for c in why.iter() if _local(c.tag)
                                       in ("Concept", "Name")]
    kind = (kind_from_packet_type(params.get("Packet_Type"))
            or kind_from_clues([ivorn, *concepts, params.get("Instruments", "")]))
    retracts = tuple(cites.get("retraction", ()))
    if not retracts and params.get("AlertType", "").lower() == "retraction":
        retracts = tuple(cites.get("supersedes", ()) or cites.get("followup", ()))
    importance = _importance(why, params, kind)

    localisation, skymap_source = None, None
    reference = _skymap_reference(params)
    if reference and not retracts:
        localisation, skymap_source, problem = resolve_skymap(reference, base_dir)
        if localisation is None and position is None:
            raise AlertParseError(f"no position, and the skymap cannot be used: {problem}",
                                  ivorn)
    if position is None and localisation is None and not retracts:
        raise AlertParseError("no position: WhereWhen has no Position2D and there is no "
                              "skymap parameter", ivorn)
    return Alert(
        alert_id=ivorn, broker=_authority(ivorn), kind=kind, role=role, issued=issued,
        event_time=event_time, position=position, error_radius=error,
        localisation=localisation, importance=importance, params=params,
        supersedes=tuple(cites.get("supersedes", ())), retracts=retracts,
        skymap_source=skymap_source, format="voevent",
    )


def _authority(ivorn: str) -> str:
    return ivorn.removeprefix("ivo://").split("/", 1)[0].split("#", 1)[0] or "unknown"


def _params(root: ET.Element) -> dict[str, str]:
    out: dict[str, str] = {}
    what = _child(root, "What")
    if what is None:
        return out
    for param in what.iter():
        if _local(param.tag) != "Param" or len(out) >= _MAX_PARAMS:
            continue
        name = (param.get("name") or "").strip()
        value = param.get("value")
        if value is None:
            value = _text(_child(param, "Value"))
        if name and value is not None and name not in out:
            out[name] = value.strip()[:_MAX_VALUE]
    return out


def _citations(root: ET.Element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    citations = _child(root, "Citations")
    if citations is None:
        return out
    for cite in _children(citations, "EventIVORN"):
        kind = (cite.get("cite") or "").strip().lower()
        target = _text(cite)
        if kind and target:
            out.setdefault(kind, []).append(target)
    return out


def _importance(why: ET.Element | None, params: dict[str, str], kind: str) -> float:
    if why is not None and why.get("importance") is not None:
        try:
            value = float(why.get("importance"))
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return min(1.0, max(0.0, value))
    if kind == "gw" and ("Significant" in params or "Terrestrial" in params):
        significant = params.get("Significant", "1").strip() not in ("0", "false", "False")
        try:
            terrestrial = min(1.0, max(0.0, float(params.get("Terrestrial", "0"))))
        except ValueError:
            terrestrial = 0.0
        return round((1.0 if significant else 0.3) * (1.0 - terrestrial), 4)
    return 0.5


def _skymap_reference(params: dict[str, str]) -> str | None:
    for name, value in params.items():
        lowered = name.lower()
        if ("skymap" in lowered or "healpix" in lowered) and value:
            return value
    return None


def _where_when(root: ET.Element, ivorn: str
                ) -> tuple[datetime | None, SkyCoord | None, u.Quantity | None]:
    location = _child(root, "WhereWhen", "ObsDataLocation", "ObservationLocation")
    coords = _child(location, "AstroCoords")
    if coords is None:
        return None, None, None
    system = coords.get("coord_system_id") or ""
    if not system:
        declared = _child(location, "AstroCoordSystem")
        system = "" if declared is None else declared.get("id", "")
    event_time = parse_time(_text(_child(coords, "Time", "TimeInstant", "ISOTime")),
                            "WhereWhen ISOTime", ivorn)
    position2d = _child(coords, "Position2D")
    if position2d is None:
        return event_time, None, None
    unit = (position2d.get("unit") or "deg").strip().lower()
    if unit not in _ANGLE_UNITS:
        raise AlertParseError(f"Position2D unit {unit!r} is not an angle unit", ivorn)
    scale = _ANGLE_UNITS[unit]
    c1, c2 = _number(_child(position2d, "Value2", "C1")), _number(_child(position2d, "Value2",
                                                                          "C2"))
    if c1 is None or c2 is None:
        raise AlertParseError("Position2D has no numeric Value2/C1 and C2", ivorn)
    lon, lat = c1 * scale, c2 * scale
    if not 0.0 <= lon <= 360.0:
        raise AlertParseError(f"C1 (RA) {lon:g} deg is outside [0, 360]", ivorn)
    if not -90.0 <= lat <= 90.0:
        raise AlertParseError(f"C2 (Dec) {lat:g} deg is outside [-90, 90]", ivorn)
    radius = _number(_child(position2d, "Error2Radius"))
    error = None
    if radius is not None:
        radius *= scale
        if not 0.0 <= radius <= 180.0:
            raise AlertParseError(f"Error2Radius {radius:g} deg is outside [0, 180]", ivorn)
        error = radius * u.deg
    return event_time, _icrs(lon % 360.0, lat, system, ivorn), error


def _number(element: ET.Element | None) -> float | None:
    text = _text(element)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _icrs(lon: float, lat: float, system: str, ivorn: str) -> SkyCoord:
    """The position in ICRS from a VOEvent STC system id such as ``UTC-FK5-GEO``."""
    parts = system.upper().split("-")
    frame = parts[1] if len(parts) >= 2 else "ICRS"
    if frame == "ICRS":
        return SkyCoord(ra=lon * u.deg, dec=lat * u.deg, frame="icrs")
    if frame == "FK5":
        return SkyCoord(ra=lon * u.deg, dec=lat * u.deg, frame="fk5", equinox="J2000").icrs
    if frame == "FK4":
        return SkyCoord(ra=lon * u.deg, dec=lat * u.deg, frame="fk4", equinox="B1950").icrs
    if frame in ("GAL", "GALACTIC"):
        return SkyCoord(l=lon * u.deg, b=lat * u.deg, frame="galactic").icrs
    raise AlertParseError(f"coordinate system {system!r} is not supported (ICRS, FK5, FK4 or "
                          "galactic)", ivorn)
