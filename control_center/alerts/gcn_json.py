"""GCN Kafka JSON notices: IGWN gravitational-wave alerts and point notices.

Two shapes are understood:

- the IGWN alert (``igwn.gwalert``): ``superevent_id``, ``alert_type``,
  ``time_created`` and ``event`` with ``time``, ``significant``,
  ``classification`` and ``skymap`` (a base64 multi-order or flat HEALPix FITS
  file); a ``RETRACTION`` has no event;
- point notices of the unified GCN schema (Swift, Einstein Probe, SVOM,
  IceCube...): ``ra``, ``dec``, ``ra_dec_error`` (deg), ``trigger_time``,
  ``instrument``, ``mission``, ``id`` or ``alert_id``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from pathlib import Path
from typing import Any

import astropy.units as u
from astropy.coordinates import SkyCoord

from control_center.alerts.kinds import kind_from_clues
from control_center.alerts.model import Alert, AlertParseError, parse_time
from control_center.alerts.skymap import SkymapError, read_skymap
from control_center.alerts.skyrefs import resolve_skymap

__all__ = ["parse_gcn_json"]

_GW_ALERT_TYPES = ("PRELIMINARY", "INITIAL", "UPDATE", "RETRACTION", "EARLYWARNING")
_TEST_TENSES = ("test",)


def parse_gcn_json(data: bytes, *, base_dir: Path | None = None) -> Alert:
    """Parse a GCN JSON notice into an :class:`Alert`.

    Raises
    ------
    AlertParseError
        Malformed JSON, an unknown shape, missing or out-of-range fields, an
        undecodable skymap.
    """
    try:
        notice = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AlertParseError(f"malformed JSON: {exc}") from None
    if not isinstance(notice, dict):
        raise AlertParseError(f"JSON notice must be an object, not {type(notice).__name__}")
    if "superevent_id" in notice:
        return _igwn(notice)
    if "ra" in notice or "dec" in notice:
        return _point(notice, base_dir)
    keys = ", ".join(sorted(notice)[:12]) or "none"
    raise AlertParseError("unrecognised JSON notice: expected superevent_id (IGWN) or ra/dec "
                          f"(GCN point notice); keys: {keys}")


def _string(notice: dict, key: str, alert_id: str = "") -> str:
    value = notice.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AlertParseError(f"{key} is missing or not a string", alert_id)
    return value.strip()


def _igwn(notice: dict) -> Alert:
    alert_id = _string(notice, "superevent_id")
    alert_type = str(notice.get("alert_type", "")).strip().upper()
    if alert_type not in _GW_ALERT_TYPES:
        raise AlertParseError(f"alert_type {notice.get('alert_type')!r} is not one of "
                              f"{', '.join(_GW_ALERT_TYPES)}", alert_id)
    issued = parse_time(_string(notice, "time_created", alert_id), "time_created", alert_id)
    role = "test" if alert_id[0] in "MT" else "observation"   # mock and test superevents
    params: dict[str, str] = {"alert_type": alert_type}
    if alert_type == "RETRACTION":
        return Alert(alert_id=alert_id, broker="igwn", kind="gw", role=role, issued=issued,
                     params=params, retracts=(alert_id,), format="gcn-json")
    event = notice.get("event")
    if not isinstance(event, dict):
        raise AlertParseError(f"{alert_type} alert without an event object", alert_id)
    event_time = parse_time(event.get("time"), "event.time", alert_id) \
        if isinstance(event.get("time"), str) else None
    for key in ("group", "pipeline", "search", "far", "significant"):
        if event.get(key) is not None:
            params[key] = str(event[key])[:200]
    if isinstance(event.get("instruments"), list):
        params["instruments"] = ",".join(map(str, event["instruments"]))[:200]
    classification = event.get("classification") or {}
    if not isinstance(classification, dict):
        raise AlertParseError("event.classification is not an object", alert_id)
    for name, value in classification.items():
        params[f"classification.{name}"] = str(value)[:40]
    skymap = event.get("skymap")
    if not isinstance(skymap, str) or not skymap:
        raise AlertParseError("no position: event.skymap is missing", alert_id)
    try:
        raw = base64.b64decode(skymap, validate=True)
    except (binascii.Error, ValueError):
        raise AlertParseError("undecodable skymap: event.skymap is not valid base64",
                              alert_id) from None
    try:
        localisation = read_skymap(raw, "event.skymap")
    except SkymapError as exc:
        raise AlertParseError(f"undecodable skymap: {exc}", alert_id) from None
    significant = event.get("significant", True) is not False
    terrestrial = _probability(classification.get("Terrestrial", 0.0))
    importance = round((1.0 if significant else 0.3) * (1.0 - terrestrial), 4)
    return Alert(alert_id=alert_id, broker="igwn", kind="gw", role=role, issued=issued,
                 event_time=event_time, localisation=localisation, importance=importance,
                 params=params, skymap_source=f"embedded ({len(raw)} bytes, "
                                              f"{localisation.description})",
                 format="gcn-json")


def _probability(value: Any) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, p)) if math.isfinite(p) else 0.0


def _angle(notice: dict, key: str, alert_id: str) -> float | None:
    value = notice.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AlertParseError(f"{key} {value!r} is not a number", alert_id)
    return float(value)


def _point_id(notice: dict) -> str:
    for key in ("alert_id", "id", "trigger_id", "trigger_number", "id_number"):
        value = notice.get(key)
        if isinstance(value, list):
            value = ";".join(str(v) for v in value if v is not None)
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
            source = "-".join(str(notice[k]) for k in ("mission", "instrument")
                              if isinstance(notice.get(k), str) and notice[k])
            return f"{source}-{value}" if source else str(value).strip()
    instrument = notice.get("instrument") or notice.get("mission")
    if isinstance(instrument, str) and isinstance(notice.get("trigger_time"), str):
        return f"{instrument}-{notice['trigger_time']}"
    raise AlertParseError("no alert id: none of alert_id, id, trigger_id, or instrument with "
                          "trigger_time")


def _point(notice: dict, base_dir: Path | None) -> Alert:
    alert_id = _point_id(notice)
    ra, dec = _angle(notice, "ra", alert_id), _angle(notice, "dec", alert_id)
    if ra is None or dec is None:
        raise AlertParseError("no position: ra or dec is missing", alert_id)
    if not 0.0 <= ra <= 360.0:
        raise AlertParseError(f"ra {ra:g} deg is outside [0, 360]", alert_id)
    if not -90.0 <= dec <= 90.0:
        raise AlertParseError(f"dec {dec:g} deg is outside [-90, 90]", alert_id)
    error = _angle(notice, "ra_dec_error", alert_id)
    if error is not None and not 0.0 <= error <= 180.0:
        raise AlertParseError(f"ra_dec_error {error:g} deg is outside [0, 180]", alert_id)
    trigger = notice.get("trigger_time")
    event_time = parse_time(trigger, "trigger_time", alert_id) if isinstance(trigger, str) \
        else None
    created = next((notice[k] for k in ("alert_datetime", "time_created", "trigger_time")
                    if isinstance(notice.get(k), str)), None)
    issued = parse_time(created, "alert_datetime", alert_id)
    if issued is None:
        raise AlertParseError("no time: alert_datetime, time_created and trigger_time are "
                              "missing", alert_id)
    schema = str(notice.get("$schema", ""))
    clues = [schema, str(notice.get("mission", "")), str(notice.get("instrument", "")),
             str(notice.get("messenger", "")), str(notice.get("type", ""))]
    kind = kind_from_clues(clues)
    role = "test" if str(notice.get("alert_tense", "")).lower() in _TEST_TENSES else \
        "observation"
    params = {k: str(notice[k])[:200] for k in ("mission", "instrument", "alert_type",
                                                "alert_tense", "record_number", "$schema")
              if notice.get(k) is not None}
    retracts = (alert_id,) if str(notice.get("alert_type", "")).lower() == "retraction" else ()
    localisation, skymap_source = None, None
    reference = next((notice[k] for k in ("healpix_url", "healpix_file", "skymap_url")
                      if isinstance(notice.get(k), str) and notice[k]), None)
    if reference and not retracts:
        localisation, skymap_source, problem = resolve_skymap(reference, base_dir)
        if problem:
            skymap_source = f"{reference} (not used: {problem})"
    classification = notice.get("classification")
    importance = 0.8
    if isinstance(classification, dict) and classification:
        importance = max(0.3, max(_probability(v) for v in classification.values()))
    broker = "gcn.nasa.gov" if "gcn.nasa.gov" in schema else \
        str(notice.get("mission") or "gcn").lower()
    return Alert(alert_id=alert_id, broker=broker, kind=kind, role=role, issued=issued,
                 event_time=event_time,
                 position=SkyCoord(ra=(ra % 360.0) * u.deg, dec=dec * u.deg, frame="icrs"),
                 error_radius=None if error is None else error * u.deg,
                 localisation=localisation, importance=importance, params=params,
                 retracts=retracts, skymap_source=skymap_source, format="gcn-json")
