"""Relay coverage: a monitoring request is handed from a setting site to a rising one.

A monitoring request wants one exposure per ``cadence``, all night. After an
exposure at site A, the request is *handed over* to this telescope's site B
when B can continue (the target is above B's floor now and still after
``horizon``, and B stays dark that long) while A cannot (the target sinks below
A's floor within ``horizon``, or A is closed, offline or at dawn): B gets the
request's candidates with a priority boost. The cadence itself is a hard
constraint (no exposure sooner than ``cadence`` after the last one, wherever it
was taken). Vectorised over the monitoring requests; the loop is over sites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from control_center.network import Site
from control_center.plugin_api import Candidate, DecisionContext, QueuedRequest, Rejection
from simulator.horizon import HorizonFrame

__all__ = ["LastExposure", "cadence_rejections", "handoff_mask", "relay_proposals"]

PROPOSER = "coordination"


@dataclass(frozen=True)
class LastExposure:
    """Where and when a request's last successful exposure was taken."""

    site: str
    telescope: str
    started: datetime


def handoff_mask(context: DecisionContext, requests: Sequence[QueuedRequest],
                 last: Mapping[str, LastExposure], horizon: timedelta) -> np.ndarray:
    """True for each request this telescope's site should take over now."""
    n = len(requests)
    here = context.telescope
    later = context.now + horizon
    if not n or not _dark_through(context, here.site.name, later):
        return np.zeros(n, dtype=bool)
    ra = np.fromiter((r.ra_deg for r in requests), float, n)
    dec = np.fromiter((r.dec_deg for r in requests), float, n)
    floor = here.telescope.min_altitude_deg
    can_here = _up_now_and_later(here.site, ra, dec, context.now, later, floor)
    sites = np.array([last[r.request_id].site if r.request_id in last else ""
                      for r in requests], dtype=object)
    handed = np.zeros(n, dtype=bool)
    floors = _floors(context)
    for name in set(sites.tolist()) - {"", here.site.name}:
        rows = sites == name
        site = context.night.network.site(name)
        scope_floor = np.array([floors.get(last[r.request_id].telescope, 0.0)
                                for r, m in zip(requests, rows, strict=True) if m])
        if _site_usable(context, name, later):
            can_there = _up_now_and_later(site, ra[rows], dec[rows], context.now, later,
                                          scope_floor)
        else:
            can_there = np.zeros(int(rows.sum()), dtype=bool)
        handed[rows] = can_here[rows] & ~can_there
    return handed


def relay_proposals(context: DecisionContext, programs: frozenset[str], boost: float,
                    last: Mapping[str, LastExposure], horizon: timedelta) -> list[Candidate]:
    """Boosted candidates of the monitoring requests handed over to this telescope's site."""
    scope = context.telescope.telescope
    requests = [r for r in context.queue if r.program in programs
                and any(r.remaining(f) > 0 and f in scope.filters for f in r.filters)]
    handed = handoff_mask(context, requests, last, horizon)
    out = []
    for request in (r for r, h in zip(requests, handed, strict=True) if h):
        for filter_name in (f for f in request.filters
                            if request.remaining(f) > 0 and f in scope.filters):
            out.append(Candidate(
                request_id=request.request_id, target=request.target, ra_deg=request.ra_deg,
                dec_deg=request.dec_deg, filter=filter_name, exposure_s=request.exposure_s,
                program=request.program, kind=request.kind,
                priority=round(min(10.0, request.priority + boost), 2), proposed_by=PROPOSER,
                not_before=request.not_before, not_after=request.not_after))
    return out


def cadence_rejections(context: DecisionContext, candidates: Sequence[Candidate],
                       programs: frozenset[str], last: Mapping[str, LastExposure],
                       cadence: timedelta) -> list[Rejection]:
    """Monitoring candidates whose last exposure (at any site) is more recent than ``cadence``."""
    out = []
    limit = round(cadence.total_seconds() / 60.0, 1)
    for c in candidates:
        done = last.get(c.request_id) if c.program in programs else None
        if done is not None and context.now - done.started < cadence:
            since = (context.now - done.started).total_seconds() / 60.0
            out.append(Rejection(c.key, "cadence", round(since, 1), limit))
    return out


def _up_now_and_later(site: Site, ra: np.ndarray, dec: np.ndarray, now: datetime,
                      later: datetime, floor) -> np.ndarray:
    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, now)
    alt_now, _ = frame.altaz_many(ra, dec, now)
    alt_later, _ = frame.altaz_many(ra, dec, later)
    return (alt_now >= floor) & (alt_later >= floor)


def _floors(context: DecisionContext) -> dict[str, float]:
    return {t.name: t.min_altitude_deg for _, t in context.night.network.telescopes()}


def _site_usable(context: DecisionContext, site: str, later: datetime) -> bool:
    """Open, reachable and dark until ``later``."""
    conditions = context.conditions_by_site.get(site)
    return (site not in context.offline_sites and conditions is not None and conditions.open
            and _dark_through(context, site, later))


def _dark_through(context: DecisionContext, site: str, later: datetime) -> bool:
    """The site is dark now and stays dark until ``later``."""
    return any(begin <= context.now and later <= end
               for begin, end in context.night.dark.get(site, ()))
