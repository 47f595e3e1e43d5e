"""Conversions between the protocol messages and the node's domain objects.

Shared by the node (``site_node.service``) and the control center's client
(``control_center.sites``): timestamps, conditions, observation commands, and
the edge pipeline's result dictionary mapped onto :class:`FrameAnalysis`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from control_center.plugin_api.types import Conditions
from protos.openastro.v1 import site_node_pb2 as pb
from site_node.backends.base import ObservationCommand

__all__ = ["analysis_to_pb", "command_from_pb", "command_to_pb", "conditions_from_pb",
           "conditions_to_pb", "from_timestamp", "json_safe", "pb", "result_to_dict", "struct_from",
           "struct_to_dict", "timestamp", "truth_to_pb"]

_ALIASES = {
    "sky_level": ("sky_level", "sky", "sky_median", "background"),
    "sky_noise": ("sky_noise", "sky_rms", "sky_std", "background_rms"),
    "n_sources": ("n_sources", "num_sources", "source_count", "nsources"),
    "fwhm_arcsec": ("fwhm_arcsec", "fwhm"),
    "ellipticity": ("ellipticity",),
    "zero_point": ("zero_point", "zeropoint", "zero_point_mag", "zp"),
    "anomaly_score": ("anomaly_score", "anomaly"),
}
_VERDICT = ("verdict", "anomaly_verdict")
_TRANSIENTS = ("transients", "transient_candidates", "candidates")


def timestamp(when: datetime) -> Timestamp:
    """A protobuf Timestamp (naive datetimes are read as UTC)."""
    ts = Timestamp()
    ts.FromDatetime(when if when.tzinfo else when.replace(tzinfo=UTC))
    return ts


def from_timestamp(ts: Timestamp) -> datetime:
    """A timezone-aware UTC datetime (microsecond precision)."""
    return ts.ToDatetime(tzinfo=UTC)


def conditions_to_pb(c: Conditions) -> pb.Conditions:
    return pb.Conditions(cloud_cover=c.cloud_cover, humidity=c.humidity, wind_m_s=c.wind_m_s,
                         seeing_arcsec=c.seeing_arcsec, sky_v_mag_arcsec2=c.sky_v_mag_arcsec2,
                         open=c.open, reason=c.reason)


def conditions_from_pb(m: pb.Conditions) -> Conditions:
    return Conditions(cloud_cover=m.cloud_cover, humidity=m.humidity, wind_m_s=m.wind_m_s,
                      seeing_arcsec=m.seeing_arcsec, sky_v_mag_arcsec2=m.sky_v_mag_arcsec2,
                      open=m.open, reason=m.reason)


def command_to_pb(c: ObservationCommand) -> pb.ObservationCommand:
    m = pb.ObservationCommand(observation_id=c.observation_id, request_id=c.request_id,
                              telescope=c.telescope, ra_deg=c.ra_deg, dec_deg=c.dec_deg,
                              filter=c.filter, exposure_s=c.exposure_s, target=c.target,
                              priority=c.priority)
    if c.v_mag is not None:
        m.v_mag = c.v_mag
    if c.start is not None:
        m.start.CopyFrom(timestamp(c.start))
    return m


def command_from_pb(m: pb.ObservationCommand) -> ObservationCommand:
    return ObservationCommand(
        observation_id=m.observation_id, request_id=m.request_id, telescope=m.telescope,
        ra_deg=m.ra_deg, dec_deg=m.dec_deg, filter=m.filter, exposure_s=m.exposure_s,
        target=m.target, priority=m.priority, v_mag=m.v_mag if m.HasField("v_mag") else None,
        start=from_timestamp(m.start) if m.HasField("start") else None)


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars, tuples, datetimes and non-finite floats made JSON-safe."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        f = float(value)
        return (value if isinstance(value, int) else f) if math.isfinite(f) else None
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def struct_from(data: Mapping[str, Any]) -> Any:
    """A ``google.protobuf.Struct`` from a mapping (made JSON-safe first)."""
    from google.protobuf.struct_pb2 import Struct

    s = Struct()
    s.update(json_safe(data))
    return s


def struct_to_dict(s: Any) -> dict[str, Any]:
    return json_format.MessageToDict(s)


def _lookup(data: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The first of ``names`` in ``data`` or in one of its nested tables."""
    present = [name for name in names if name in data]
    if present:
        return next((data[n] for n in present if data[n] is not None), None)
    for value in data.values():
        if isinstance(value, Mapping):
            found = _lookup(value, names)
            if found is not None:
                return found
    return None


def _number(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _transient(c: Mapping[str, Any]) -> pb.TransientCandidate:
    def pick(*names: str) -> float:
        for n in names:
            v = _number(c.get(n))
            if v is not None:
                return v
        return 0.0

    m = pb.TransientCandidate(ra_deg=pick("ra_deg", "ra"), dec_deg=pick("dec_deg", "dec"),
                              x=pick("x"), y=pick("y"), flux=pick("flux"),
                              snr=pick("snr"), score=pick("real_bogus", "score", "probability"),
                              vetted=bool(c.get("vetted", False)))
    mag = _number(c.get("mag"))
    if mag is not None:
        m.mag = mag
    return m


def analysis_to_pb(result: Mapping[str, Any], *, pipeline: str, latency_s: float,
                   error: str = "") -> pb.FrameAnalysis:
    """Map an edge pipeline's result dictionary onto :class:`FrameAnalysis`.

    Known quantities are looked up under their usual names (also one level
    down); the whole dictionary travels in ``extras``.
    """
    m = pb.FrameAnalysis(ok=not error, error=error, pipeline=pipeline, latency_s=latency_s)
    for field, names in _ALIASES.items():
        value = _lookup(result, names)
        if isinstance(value, (list, tuple)) and field == "n_sources":
            value = len(value)
        number = _number(value)
        if number is not None:
            setattr(m, field, int(number) if field == "n_sources" else number)
    verdict = _lookup(result, _VERDICT)
    if verdict is not None:
        m.verdict = str(verdict)
    candidates = _lookup(result, _TRANSIENTS)
    if isinstance(candidates, (list, tuple)):
        m.transients.extend(_transient(c) for c in candidates if isinstance(c, Mapping))
    m.extras.CopyFrom(struct_from(result))
    return m


def truth_to_pb(truth: Mapping[str, Any], conditions: Conditions | None) -> pb.SimulatorTruth:
    """What the simulator knows about an observation, as :class:`SimulatorTruth`."""
    known = {f.name for f in pb.SimulatorTruth.DESCRIPTOR.fields} - {"extras", "conditions",
                                                                      "exposure_start"}
    m = pb.SimulatorTruth(**{k: float(v) for k, v in truth.items()
                             if k in known and _number(v) is not None})
    if isinstance(truth.get("exposure_start"), datetime):
        m.exposure_start.CopyFrom(timestamp(truth["exposure_start"]))
    if conditions is not None:
        m.conditions.CopyFrom(conditions_to_pb(conditions))
    rest = {k: v for k, v in truth.items() if k not in known and k != "exposure_start"}
    if rest:
        m.extras.CopyFrom(struct_from(rest))
    return m


def result_to_dict(result: pb.ObservationResult) -> dict[str, Any]:
    """An :class:`ObservationResult` as JSON-ready data (without the FITS bytes)."""
    copy = pb.ObservationResult()
    copy.CopyFrom(result)
    copy.ClearField("fits")
    out = json_format.MessageToDict(copy, preserving_proto_field_name=True,
                                    always_print_fields_with_no_presence=True)
    out.pop("fits", None)
    return out
