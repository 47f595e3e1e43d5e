"""The alert responder: follow-up candidates for the alerts recorded in the log.

It listens to ``AlertReceived`` (and ``AlertRetracted``), wakes idle telescopes
when an alert arrives, and proposes for the deciding telescope:

- a point alert (error circle within one field): one candidate per wanted
  filter the telescope has, at the alert's position;
- a tiled alert (a gravitational-wave skymap, or an error circle larger than
  a field): one candidate per tile not yet observed that is up now at the
  telescope's site (the most probable ``max_tile_candidates``), priority by the
  tile's probability (:func:`tile_weight`). Tiles below the horizon are left
  for later decisions rather than proposed to be rejected: a skymap would
  otherwise add dozens of rejected rows to every decision in the log.

An alert stops being proposed once observed enough (every wanted filter, or
every tile), when retracted or superseded, or ``ttl_hours`` after it was
issued. Alerts that are tests, utilities or never observable from the network
are not proposed.
"""

from __future__ import annotations

import math
import os
import threading
from datetime import datetime, timedelta

from control_center.events import ObservationCompleted, ObservationFailed
from control_center.events.alert import AlertReceived, AlertRetracted
from control_center.plugin_api import Candidate, DecisionContext, hookimpl
from plugins.alerts.state import ActiveAlert
from simulator.horizon import HorizonFrame

__all__ = ["EXPOSURE_S", "FOLLOWUP_FILTERS", "SURE_TILE_PROBABILITY", "AlertResponder",
           "tile_weight"]

FOLLOWUP_FILTERS = ("r", "i", "g", "z", "R", "I", "V", "B", "u")
"""Filters in order of preference for follow-up (red first: afterglows and kilonovae)."""
EXPOSURE_S = {"grb": 120.0, "gw": 90.0, "neutrino": 90.0, "xray": 120.0, "optical": 120.0}
"""Exposure of a follow-up by alert kind (others: 120 s)."""
SURE_TILE_PROBABILITY = 0.05
"""A tile holding this much of the localisation's probability gets the alert's full priority."""
_TTL_ENV = "OPENASTRO_ALERT_TTL_HOURS"


def tile_weight(probability: float) -> float:
    """Share of the alert's priority a tile gets: 0.4 for an empty tile, rising with the
    square root of the probability it holds to 1 at :data:`SURE_TILE_PROBABILITY`.

    The scale is absolute, so a well-localised alert (a neutrino whose circle
    fits in a few fields) outranks one tile of a gravitational-wave map spread
    over thousands of fields.
    """
    return 0.4 + 0.6 * math.sqrt(min(1.0, max(0.0, probability) / SURE_TILE_PROBABILITY))


def _default_ttl_hours() -> float:
    try:
        return float(os.environ.get(_TTL_ENV, "24"))
    except ValueError:
        return 24.0


class AlertResponder:
    """Follow up alerts (VOEvent, GCN) recorded in the log.

    Parameters
    ----------
    ttl_hours : float, optional
        An alert is followed for this long after it was issued (default 24, or
        the ``OPENASTRO_ALERT_TTL_HOURS`` environment variable).
    repeats : int
        Exposures wanted per filter for a point alert.
    filters_wanted : int
        How many filters a point alert wants (the first of
        :data:`FOLLOWUP_FILTERS` the network has).
    max_failures : int
        A filter or tile whose observation failed this often is given up.
    max_tile_candidates : int
        Most tiles of one alert proposed to one decision (the most probable of
        those up now at the telescope's site).
    """

    def __init__(self, ttl_hours: float | None = None, repeats: int = 1,
                 filters_wanted: int = 3, max_failures: int = 3,
                 max_tile_candidates: int = 20) -> None:
        self.ttl = timedelta(hours=_default_ttl_hours() if ttl_hours is None else ttl_hours)
        self.repeats = repeats
        self.filters_wanted = filters_wanted
        self.max_failures = max_failures
        self.max_tile_candidates = max_tile_candidates
        self._alerts: dict[str, ActiveAlert] = {}
        self._requests: dict[str, tuple[str, tuple[float, float] | None]] = {}
        self._successor: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- listening -------------------------------------------------------------------

    @hookimpl
    def openastro_event(self, event) -> None:
        if isinstance(event, AlertReceived):
            with self._lock:
                self._received(event)
        elif isinstance(event, AlertRetracted):
            with self._lock:
                for alert_id in event.retracts:
                    alert = self._alerts.get(alert_id)
                    if alert is not None and not alert.ended:
                        alert.ended = f"retracted by {event.alert_id}"
        elif isinstance(event, ObservationCompleted | ObservationFailed):
            target = self._requests.get(event.request_id)
            if target is not None:
                with self._lock:
                    self._observed(event, *target)

    def _received(self, event) -> None:
        previous = self._alerts.get(event.alert_id)
        if previous is not None and previous.revision >= event.revision:
            return   # seen already (a replay of the same event)
        alert = ActiveAlert.from_event(event, self.ttl)
        if previous is not None:
            alert.inherit(previous)
        for old_id in event.supersedes:
            old = self._alerts.get(old_id)
            if old is not None:
                alert.inherit(old)
                old.ended = old.ended or f"superseded by {event.alert_id}"
            self._successor[old_id] = event.alert_id
        self._alerts[event.alert_id] = alert
        self._requests[alert.request_id()] = (alert.alert_id, None)
        for k, (ra, dec, _) in enumerate(alert.tiles):
            self._requests[alert.request_id(k)] = (alert.alert_id, (ra, dec))

    def _current(self, alert_id: str) -> ActiveAlert:
        """The alert now standing for ``alert_id`` (following supersessions)."""
        seen = {alert_id}
        while alert_id in self._successor and self._successor[alert_id] in self._alerts:
            alert_id = self._successor[alert_id]
            if alert_id in seen:
                break
            seen.add(alert_id)
        return self._alerts[alert_id]

    def _observed(self, event, alert_id: str, tile: tuple[float, float] | None) -> None:
        alert = self._current(alert_id)
        if isinstance(event, ObservationFailed):
            alert.failures[event.filter if tile is None else tile] += 1
            return
        if tile is None:
            original = self._alerts[alert_id]
            if alert is original or alert.near(original.ra_deg, original.dec_deg):
                alert.done[event.filter] += 1
            position = None if original.ra_deg is None else (original.ra_deg, original.dec_deg)
        else:
            position = tile
        if position is not None:
            alert.observed.append(position)
            alert.mark_position(*position)

    # -- triggering --------------------------------------------------------------------

    @hookimpl
    def openastro_trigger(self, event) -> str | None:
        if (isinstance(event, AlertReceived) and event.role == "observation"
                and event.observable):
            what = f"{len(event.tiles)} tiles" if event.tiles else "point"
            return f"alert {event.kind} {event.short_id} ({what}, priority {event.priority:g})"
        return None

    # -- proposing ---------------------------------------------------------------------

    @hookimpl
    def openastro_propose(self, context: DecisionContext) -> list[Candidate]:
        with self._lock:
            alerts = [a for a in self._alerts.values() if self._followed(a, context.now)]
            if not alerts:
                return []
            wanted = self._wanted_filters(context)
            out: list[Candidate] = []
            for alert in alerts:
                if alert.is_point:
                    out.extend(self._point_candidates(context, alert, wanted))
                else:
                    out.extend(self._tile_candidates(context, alert))
            return out

    def _followed(self, alert: ActiveAlert, now: datetime) -> bool:
        return (not alert.ended and alert.role == "observation" and alert.observable
                and now < alert.expires)

    def _wanted_filters(self, context: DecisionContext) -> tuple[str, ...]:
        have = {f for _, t in context.night.network.telescopes() for f in t.filters}
        return tuple(f for f in FOLLOWUP_FILTERS if f in have)[: self.filters_wanted]

    def _urgency(self, alert: ActiveAlert, now: datetime) -> float:
        """1 when issued, falling linearly to 0.5 at expiry (afterglows fade)."""
        age = (now - alert.issued) / (alert.expires - alert.issued)
        return 1.0 - 0.5 * min(1.0, max(0.0, age))

    def _rises(self, context: DecisionContext, dec_deg: float) -> bool:
        floor = context.telescope.telescope.min_altitude_deg
        return 90.0 - abs(context.telescope.site.latitude_deg - dec_deg) >= floor

    def _candidate(self, alert: ActiveAlert, request_id: str, target: str, ra: float,
                   dec: float, filter_name: str, priority: float) -> Candidate:
        return Candidate(
            request_id=request_id, target=target, ra_deg=ra, dec_deg=dec, filter=filter_name,
            exposure_s=EXPOSURE_S.get(alert.kind, 120.0), program=f"alert:{alert.kind}",
            kind="followup", priority=round(priority, 3), proposed_by="alerts",
            not_after=alert.expires)

    def _point_candidates(self, context: DecisionContext, alert: ActiveAlert,
                          wanted: tuple[str, ...]) -> list[Candidate]:
        remaining = alert.remaining_filters(wanted, self.repeats, self.max_failures)
        if not remaining:
            alert.ended = "observed in every wanted filter"
            return []
        if not self._rises(context, alert.dec_deg):
            return []
        scope = context.telescope.telescope
        priority = alert.priority * self._urgency(alert, context.now)
        return [self._candidate(alert, alert.request_id(), alert.short_id, alert.ra_deg,
                                alert.dec_deg, f, priority)
                for f in remaining if f in scope.filters]

    def _tile_candidates(self, context: DecisionContext, alert: ActiveAlert
                         ) -> list[Candidate]:
        remaining = alert.remaining_tiles(self.max_failures)
        if not remaining:
            alert.ended = "every tile observed"
            return []
        scope = context.telescope.telescope
        filter_name = next((f for f in FOLLOWUP_FILTERS if f in scope.filters), None)
        if filter_name is None:
            return []
        site = context.telescope.site
        frame = HorizonFrame(site.latitude_deg, site.longitude_deg, context.now)
        alt, _ = frame.altaz_many([alert.tiles[k][0] for k in remaining],
                                  [alert.tiles[k][1] for k in remaining], context.now)
        up = [k for k, a in zip(remaining, alt, strict=True) if a >= scope.min_altitude_deg]
        base = alert.priority * self._urgency(alert, context.now)
        out = []
        for k in up[: self.max_tile_candidates]:   # tiles are ranked by probability
            ra, dec, prob = alert.tiles[k]
            out.append(self._candidate(alert, alert.request_id(k),
                                       f"{alert.short_id} tile {k}", ra, dec, filter_name,
                                       base * tile_weight(prob)))
        return out

    # -- inspection (tests, UI) ------------------------------------------------------------

    def active(self, now: datetime) -> list[str]:
        """Ids of the alerts being followed at ``now``."""
        with self._lock:
            return [a.alert_id for a in self._alerts.values() if self._followed(a, now)]

    def ended(self) -> dict[str, str]:
        """Alerts no longer followed (apart from expiry), with why."""
        with self._lock:
            return {a.alert_id: a.ended for a in self._alerts.values() if a.ended}
