"""Events of alerts: notices of transients from brokers (VOEvent, GCN).

Each alert has its own stream (``stream_id("alert", alert_id)``): its
revisions (the same id sent again with new content) follow each other there.
A notice that cannot be used is recorded as :class:`AlertRejected` with the
reason, in the alert's stream when its id could be read, otherwise in a
stream of its own (``stream_id("alert-rejected", digest)``).
"""

from __future__ import annotations

from datetime import datetime

from control_center.eventlog.envelope import LogEvent

__all__ = ["AlertReceived", "AlertRejected", "AlertRetracted"]


class AlertReceived(LogEvent):
    """An alert to follow up (or a revision of one), with everything a decision needs.

    ``ra_deg``/``dec_deg``/``error_deg`` are the best position and its 90 %
    error radius (None for a pure skymap). ``tiles`` are fields covering the
    90 % credible region, ``[[ra_deg, dec_deg, probability], ...]`` most
    probable first (empty for a point alert whose error circle fits in one
    field); ``tile_side_deg`` is the side of the network's smallest field, the
    size of the tiles. ``observable`` is False when no site
    of the network can see it in the dark within 24 h of receipt (``note``
    says why). ``priority`` is 0-10; ``short_id`` is the alert id made safe for
    request ids; ``revision`` counts the versions of this alert id (1 first).
    """

    alert_id: str
    short_id: str
    broker: str
    source: str
    format: str
    kind: str
    role: str
    issued: datetime
    event_time: datetime | None
    ra_deg: float | None
    dec_deg: float | None
    error_deg: float | None
    tiles: list
    tile_side_deg: float
    area90_deg2: float | None
    tiles_probability: float | None
    importance: float
    priority: float
    observable: bool
    note: str
    revision: int
    supersedes: list
    params: dict
    skymap: str | None
    digest: str


class AlertRetracted(LogEvent):
    """A notice withdrawing earlier alerts (``retracts``: their ids)."""

    alert_id: str
    short_id: str
    broker: str
    source: str
    format: str
    issued: datetime
    retracts: list
    digest: str


class AlertRejected(LogEvent):
    """A notice that could not be used; ``reason`` names the problem.

    ``source`` is where it came from (file name, broker topic); ``alert_id`` is
    "" when the notice could not be read that far; ``digest`` is the SHA-256
    of its bytes.
    """

    source: str
    reason: str
    alert_id: str
    format: str
    size_bytes: int
    digest: str
