"""Simultaneous observations: while one site observes a campaign target, others join in.

A request wants several sites at once when its programme is one of the
simultaneous programmes (e.g. a multi-colour campaign or a stellar
occultation). While a telescope is busy with such a request, every telescope at
*another* site is offered a partner observation of the same target under its
own request id ``<request>@<site>`` (so each site's exposure is tracked
separately and the exclusive constraint lets the sites overlap), with high
priority and a time window (``not_after``) that only lets it start while the
primary exposure is still running: its end plus one exposure and two minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from control_center.plugin_api import Candidate, DecisionContext

__all__ = ["partner_id", "partner_proposals"]

PROPOSER = "coordination"


def partner_id(request_id: str, site: str) -> str:
    """Request id of the partner observation of ``request_id`` at ``site``."""
    return f"{request_id}@{site}"


def partner_proposals(context: DecisionContext, programs: frozenset[str], boost: float,
                      primary_started: Mapping[str, datetime],
                      partner_assigned: Mapping[str, datetime],
                      primary_filter: Mapping[str, str]) -> list[Candidate]:
    """Partner candidates for ``context.telescope`` while campaign targets are observed elsewhere.

    Parameters
    ----------
    context : DecisionContext
        Its ``telescopes`` say who is busy with what.
    programs : frozenset of str
        Programmes whose requests want simultaneous sites.
    boost : float
        Added to the request's priority (capped at 10); a filter other than the
        primary's (simultaneous colours) gets the whole boost, the same filter half.
    primary_started : mapping
        Request id -> start of the telescope's current observation of it.
    partner_assigned : mapping
        Partner request id -> start of its latest assignment (one partner per
        primary exposure).
    primary_filter : mapping
        Telescope name -> filter of its current observation.
    """
    here = context.telescope
    site = here.site.name
    requests = {r.request_id: r for r in context.queue if r.program in programs}
    if not requests:
        return []
    busy_here = {t.busy_with for t in context.telescopes.values() if t.site.name == site}
    out: list[Candidate] = []
    seen: set[str] = set()
    for name, primary in sorted(context.telescopes.items()):
        request = requests.get(primary.busy_with or "")
        if request is None or primary.site.name == site:
            continue
        pid = partner_id(request.request_id, site)
        if pid in seen or pid in busy_here or _already_partnered(
                primary_started.get(request.request_id), partner_assigned.get(pid)):
            continue
        seen.add(pid)
        usable = [f for f in request.filters if f in here.telescope.filters]
        end = primary.busy_until or context.now
        not_after = end + timedelta(seconds=request.exposure_s + 120.0)
        if request.not_after is not None:
            not_after = min(not_after, request.not_after)
        for filter_name in usable:
            lift = boost if filter_name != primary_filter.get(name) else boost / 2
            out.append(Candidate(
                request_id=pid, target=request.target, ra_deg=request.ra_deg,
                dec_deg=request.dec_deg, filter=filter_name, exposure_s=request.exposure_s,
                program=request.program, kind=request.kind,
                priority=round(min(10.0, request.priority + lift), 2), proposed_by=PROPOSER,
                not_before=request.not_before, not_after=not_after))
    return out


def _already_partnered(primary_start: datetime | None, partner_start: datetime | None) -> bool:
    """A partner was assigned during the primary's current exposure."""
    return (primary_start is not None and partner_start is not None
            and partner_start >= primary_start)
