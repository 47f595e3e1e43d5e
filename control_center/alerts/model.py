"""The :class:`Alert`: one notice of a transient, whatever format it came in.

Parsers (:mod:`.voevent`, :mod:`.gcn_json`) turn a payload into an ``Alert`` or
raise :class:`AlertParseError` naming what is wrong; nothing else in the alert
package reads a payload.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import astropy.units as u
from astropy.coordinates import SkyCoord

if TYPE_CHECKING:
    from control_center.alerts.skymap import Localisation

__all__ = ["ALERT_KINDS", "ALERT_ROLES", "Alert", "AlertParseError", "parse_time", "short_id"]

ALERT_KINDS = ("grb", "gw", "neutrino", "xray", "optical", "unknown")
"""What an alert is about (the role ``test`` is separate: see :data:`ALERT_ROLES`)."""

ALERT_ROLES = ("observation", "prediction", "utility", "test")
"""VOEvent roles; only ``observation`` alerts are followed up."""


class AlertParseError(ValueError):
    """A payload is not a usable alert; the message names the problem.

    ``alert_id`` is set when the payload named its alert before the problem was found.
    """

    def __init__(self, message: str, alert_id: str = "") -> None:
        super().__init__(message)
        self.alert_id = alert_id


@dataclass(frozen=True)
class Alert:
    """One alert (VOEvent 2.0 or GCN JSON notice).

    Attributes
    ----------
    alert_id : str
        The VOEvent ivorn, the gravitational-wave superevent id, or the notice's id.
    broker : str
        Who published it (the ivorn's authority, ``gcn.nasa.gov``, ``igwn``...).
    kind : str
        One of :data:`ALERT_KINDS`.
    role : str
        One of :data:`ALERT_ROLES`.
    issued : datetime
        When the notice was written (``Who/Date``, ``time_created``), UTC.
    event_time : datetime or None
        When the transient happened (trigger time), UTC.
    position : SkyCoord or None
        Best position (ICRS).
    error_radius : Quantity or None
        Radius of the position's error circle (taken as 90 % containment).
    localisation : Localisation or None
        A HEALPix probability map (gravitational waves, coarse localisations).
    importance : float
        0..1, how much the publisher wants it followed (VOEvent ``Why@importance``;
        derived from significance and classification for gravitational waves).
    params : mapping of str to str
        Scalar parameters of the notice worth keeping (``Packet_Type``...).
    supersedes, retracts : tuple of str
        Alert ids this one replaces or withdraws.
    skymap_source : str or None
        Where the localisation came from (a path, ``"embedded"``...), or the
        skymap reference that could not be used.
    format : str
        ``"voevent"`` or ``"gcn-json"``.
    """

    alert_id: str
    broker: str
    kind: str
    role: str
    issued: datetime
    event_time: datetime | None = None
    position: SkyCoord | None = None
    error_radius: u.Quantity | None = None
    localisation: Localisation | None = None
    importance: float = 0.5
    params: Mapping[str, str] = field(default_factory=dict)
    supersedes: tuple[str, ...] = ()
    retracts: tuple[str, ...] = ()
    skymap_source: str | None = None
    format: str = "voevent"

    @property
    def is_retraction(self) -> bool:
        return bool(self.retracts)

    @property
    def short_id(self) -> str:
        return short_id(self.alert_id)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_SHORT = 64


def short_id(alert_id: str) -> str:
    """A stable id safe inside request ids and candidate keys (no ``/``, ``#``...).

    Examples
    --------
    >>> short_id("ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1234567-000")
    'nasa.gsfc.gcn-SWIFT-BAT_GRB_Pos_1234567-000'
    >>> short_id("S250101ab")
    'S250101ab'
    """
    text = alert_id.removeprefix("ivo://")
    text = _UNSAFE.sub("-", text).strip("-") or "alert"
    if len(text) > _MAX_SHORT:
        digest = hashlib.sha1(alert_id.encode()).hexdigest()[:8]
        text = text[-(_MAX_SHORT - 9):].lstrip("-") + "-" + digest
    return text


def parse_time(text: str | None, what: str, alert_id: str = "") -> datetime | None:
    """An ISO-8601 time as an aware UTC datetime (naive times are UTC)."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AlertParseError(f"{what} {text!r} is not an ISO-8601 time", alert_id) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
