"""Recording alerts in the log: parse, tile, check observability, record one event.

:func:`ingest` never raises on bad input: a notice that cannot be used becomes
an :class:`~control_center.events.alert.AlertRejected` naming the problem.
Only a failure of the log itself (:class:`~control_center.eventlog.LogError`)
reaches the caller.

Duplicates: a notice whose bytes were already recorded under the same alert id
(the same ivorn sent again) is *ignored*: nothing is appended and the earlier
event is returned (``status == "duplicate"``). The same id with different
content is recorded as a new revision (``status == "updated"``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from control_center.alerts.model import Alert, AlertParseError
from control_center.alerts.observability import describe, visibility
from control_center.alerts.parsing import MAX_PAYLOAD_BYTES, parse_alert, payload_format
from control_center.alerts.skymap import SkymapError, circle_localisation
from control_center.alerts.tiling import MAX_TILES, tile_localisation
from control_center.eventlog.envelope import LogEvent, stream_id
from control_center.events.alert import AlertReceived, AlertRejected, AlertRetracted
from control_center.network import Network

__all__ = ["CORE", "Ingested", "alert_priority", "field_side_deg", "ingest", "ingest_outcome"]

CORE = "control-center"
WINDOW_HOURS = 24.0
"""Observability is checked for this long after receipt."""


@dataclass(frozen=True)
class Ingested:
    """What :func:`ingest_outcome` did with one notice.

    Attributes
    ----------
    event : LogEvent
        The event recorded (for a duplicate: the earlier one, from the log).
    status : str
        ``"accepted"``, ``"updated"`` (a new revision), ``"retracted"``,
        ``"duplicate"`` (nothing recorded) or ``"rejected"``.
    alert : Alert or None
        The parsed alert (None when rejected before it could be read).
    """

    event: LogEvent
    status: str
    alert: Alert | None = None

    @property
    def recorded(self) -> bool:
        """True when an event was appended (everything but a duplicate)."""
        return self.status != "duplicate"


def field_side_deg(network: Network) -> float:
    """Side of the tiles: the smallest field of view in the network (deg)."""
    return min(t.field_of_view_arcmin for _, t in network.telescopes()) / 60.0


def alert_priority(alert: Alert) -> float:
    """Priority (0-10) of following ``alert`` up: 5 plus 5 times its importance."""
    return round(5.0 + 5.0 * min(1.0, max(0.0, alert.importance)), 2)


def ingest(log, payload_or_path: bytes | str | Path, *, network: Network,
           sim_time: datetime, source: str | None = None, actor: str = CORE,
           correlation_id: uuid.UUID | None = None, max_tiles: int = MAX_TILES) -> LogEvent:
    """Record one notice in ``log``; return the recorded event.

    Parameters
    ----------
    log : EventLog
    payload_or_path : bytes, str or Path
        The notice's bytes, its text (a str starting with ``<`` or ``{``), or the
        path of a file holding it.
    network : Network
        Tiles are sized to its smallest field of view; observability is checked
        from its sites.
    sim_time : datetime
        When the notice is received (UTC-aware); the recorded events' time.
    source : str, optional
        Where it came from (default: the file name, or ``"payload"``).
    actor, correlation_id
        Envelope of the recorded event.
    max_tiles : int
        Bound on the tiles of one alert.

    Returns
    -------
    LogEvent
        ``AlertReceived``, ``AlertRetracted`` or ``AlertRejected`` (for a
        duplicate, the earlier event; see :func:`ingest_outcome`).
    """
    return ingest_outcome(log, payload_or_path, network=network, sim_time=sim_time,
                          source=source, actor=actor, correlation_id=correlation_id,
                          max_tiles=max_tiles).event


def ingest_outcome(log, payload_or_path: bytes | str | Path, *, network: Network,
                   sim_time: datetime, source: str | None = None, actor: str = CORE,
                   correlation_id: uuid.UUID | None = None,
                   max_tiles: int = MAX_TILES) -> Ingested:
    """Like :func:`ingest`, saying also what was done (:class:`Ingested`)."""
    recorder = _Recorder(log, sim_time, actor, correlation_id)
    data, name, base_dir, problem = _load(payload_or_path, source)
    digest = hashlib.sha256(data).hexdigest()
    fmt = payload_format(data)
    if problem:
        return recorder.reject(name, problem, "", fmt, data, digest)
    try:
        alert = parse_alert(data, base_dir=base_dir)
    except AlertParseError as exc:
        return recorder.reject(name, str(exc), exc.alert_id, fmt, data, digest)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the notice
        return recorder.reject(name, f"internal error while parsing: {type(exc).__name__}: "
                               f"{exc}", "", fmt, data, digest)
    history = log.stream(stream_id("alert", alert.alert_id))
    earlier = next((e for e in history if isinstance(e, AlertReceived | AlertRetracted)
                    and e.digest == digest), None)
    if earlier is not None:
        return Ingested(earlier, "duplicate", alert)
    if alert.is_retraction:
        return recorder.retraction(alert, name, digest)
    try:
        fields = _received_fields(alert, network, sim_time, max_tiles)
    except (SkymapError, ValueError) as exc:
        return recorder.reject(name, f"cannot tile the localisation: {exc}", alert.alert_id,
                               fmt, data, digest, alert)
    except Exception as exc:  # noqa: BLE001 - nothing received is lost
        return recorder.reject(name, f"internal error while tiling: {type(exc).__name__}: "
                               f"{exc}", alert.alert_id, fmt, data, digest, alert)
    revision = 1 + sum(isinstance(e, AlertReceived) for e in history)
    return recorder.received(alert, name, digest, revision, fields)


# -- reading the notice -----------------------------------------------------------------


def _load(payload_or_path: bytes | str | Path, source: str | None
          ) -> tuple[bytes, str, Path | None, str]:
    """The notice's bytes, a name for it, its directory, and a problem ("" if none)."""
    if isinstance(payload_or_path, bytes | bytearray | memoryview):
        return bytes(payload_or_path), source or "payload", None, ""
    if isinstance(payload_or_path, str) and payload_or_path.lstrip()[:1] in ("<", "{"):
        return payload_or_path.encode("utf-8"), source or "payload", None, ""
    path = Path(payload_or_path)
    name = source or path.name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_PAYLOAD_BYTES:
            return b"", name, path.parent, f"{path} is {size} bytes, more than the limit"
        return path.read_bytes(), name, path.parent, ""
    except OSError as exc:
        return b"", name, path.parent, f"cannot read {path}: {exc.strerror or exc}"


# -- what an AlertReceived holds -------------------------------------------------------


def _received_fields(alert: Alert, network: Network, now: datetime, max_tiles: int) -> dict:
    side = field_side_deg(network)
    ra = dec = error = None
    if alert.position is not None:
        ra, dec = float(alert.position.ra.deg), float(alert.position.dec.deg)
    if alert.error_radius is not None:
        error = float(alert.error_radius.to_value("deg"))
    localisation = alert.localisation
    if localisation is None and error is not None and error > side / 2.0:
        localisation = circle_localisation(ra, dec, error)
    tiles: list[list[float]] = []
    area = covered = None

    def usable(tile_ra, tile_dec):
        return visibility(network, tile_ra, tile_dec, now, hours=WINDOW_HOURS).observable

    if localisation is not None:
        tiling = tile_localisation(localisation, side, max_tiles=max_tiles, usable=usable)
        tiles = [[t.ra_deg, t.dec_deg, float(f"{t.probability:.6g}")] for t in tiling.tiles]
        area, covered = round(tiling.area90_deg2, 3), round(tiling.probability, 6)
        seen = visibility(network, [t[0] for t in tiles], [t[1] for t in tiles], now,
                          hours=WINDOW_HOURS)
        observable = bool(seen.observable.any())
        note = (f"{len(tiles)} tiles hold {100 * covered:.1f} % of the probability (the 90 % "
                f"region, {area:.1f} deg2, takes {tiling.cells90}); "
                + describe(network, seen, [t[1] for t in tiles], [t[2] for t in tiles]))
    else:
        seen = visibility(network, [ra], [dec], now, hours=WINDOW_HOURS)
        observable = bool(seen.observable[0])
        note = describe(network, seen, [dec])
    if alert.skymap_source and localisation is not alert.localisation:
        note += f"; skymap {alert.skymap_source}"
    return {
        "ra_deg": None if ra is None else round(ra, 6),
        "dec_deg": None if dec is None else round(dec, 6),
        "error_deg": None if error is None else round(error, 6),
        "tiles": tiles, "tile_side_deg": round(side, 6),
        "area90_deg2": area, "tiles_probability": covered, "observable": observable,
        "note": note,
    }


# -- recording ---------------------------------------------------------------------------


class _Recorder:
    def __init__(self, log, sim_time: datetime, actor: str,
                 correlation_id: uuid.UUID | None) -> None:
        self.log, self.sim_time, self.actor = log, sim_time, actor
        self.correlation_id = correlation_id

    def _add(self, event_cls: type[LogEvent], stream: uuid.UUID, **fields) -> LogEvent:
        with self.log.batch(actor=self.actor, sim_time=self.sim_time,
                            correlation_id=self.correlation_id or stream) as batch:
            event = batch.add(event_cls, stream=stream, **fields)
        return event

    def reject(self, source: str, reason: str, alert_id: str, fmt: str, data: bytes,
               digest: str, alert: Alert | None = None) -> Ingested:
        stream = stream_id("alert", alert_id) if alert_id else stream_id("alert-rejected",
                                                                         digest)
        event = self._add(AlertRejected, stream, source=source, reason=reason,
                          alert_id=alert_id, format=fmt, size_bytes=len(data), digest=digest)
        return Ingested(event, "rejected", alert)

    def retraction(self, alert: Alert, source: str, digest: str) -> Ingested:
        event = self._add(AlertRetracted, stream_id("alert", alert.alert_id),
                          alert_id=alert.alert_id, short_id=alert.short_id,
                          broker=alert.broker, source=source, format=alert.format,
                          issued=alert.issued, retracts=list(alert.retracts), digest=digest)
        return Ingested(event, "retracted", alert)

    def received(self, alert: Alert, source: str, digest: str, revision: int,
                 fields: dict) -> Ingested:
        event = self._add(
            AlertReceived, stream_id("alert", alert.alert_id), alert_id=alert.alert_id,
            short_id=alert.short_id, broker=alert.broker, source=source, format=alert.format,
            kind=alert.kind, role=alert.role, issued=alert.issued, event_time=alert.event_time,
            importance=round(alert.importance, 4), priority=alert_priority(alert),
            revision=revision, supersedes=list(alert.supersedes), params=dict(alert.params),
            skymap=alert.skymap_source, digest=digest, **fields)
        return Ingested(event, "accepted" if revision == 1 else "updated", alert)
