"""Queue proposals: every exposure still wanted by a pending request."""

from __future__ import annotations

from control_center.plugin_api import Candidate, DecisionContext, hookimpl

MAX_FAILURES = 3
"""A request that failed this often is left for another night (no thrashing)."""


@hookimpl
def openastro_propose(context: DecisionContext) -> list[Candidate]:
    """One candidate per wanted filter of each pending request.

    Filters the telescope lacks are proposed only when the request has no
    filter the telescope can use, so the instrument constraint records why the
    request cannot be done here. Requests that failed ``MAX_FAILURES`` times are
    not proposed again.
    """
    scope = context.telescope.telescope
    out: list[Candidate] = []
    for request in context.queue:
        if request.failures >= MAX_FAILURES:
            continue
        wanted = request.wanted_filters
        if not wanted:
            continue
        usable = [f for f in wanted if f in scope.filters]
        for filter_name in usable or wanted[:1]:
            out.append(Candidate(
                request_id=request.request_id, target=request.target, ra_deg=request.ra_deg,
                dec_deg=request.dec_deg, filter=filter_name, exposure_s=request.exposure_s,
                program=request.program, kind=request.kind, priority=request.priority,
                proposed_by="queue", not_before=request.not_before, not_after=request.not_after,
                v_mag=request.v_mag,
            ))
    return out
