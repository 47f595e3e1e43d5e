"""Queue proposals: every exposure still wanted by a pending request."""

from __future__ import annotations

from control_center.plugin_api import Candidate, DecisionContext, QueuedRequest, hookimpl

MAX_FAILURES = 3
"""A request that failed this often is left for another night (no thrashing)."""

_made: dict[tuple[str, tuple[str, ...]], tuple[QueuedRequest, list[Candidate]]] = {}
"""Candidates already made, by request and telescope filters, with the request object
they were made from: the request queue hands out the same object until the request
changes, so an identical object means identical candidates."""
_MAX_MADE = 50_000


@hookimpl
def openastro_propose(context: DecisionContext) -> list[Candidate]:
    """One candidate per wanted filter of each pending request.

    Filters the telescope lacks are proposed only when the request has no
    filter the telescope can use, so the instrument constraint records why the
    request cannot be done here. Requests that failed ``MAX_FAILURES`` times are
    not proposed again.
    """
    filters = context.telescope.telescope.filters
    if len(_made) > _MAX_MADE:
        _made.clear()
    out: list[Candidate] = []
    for request in context.queue:
        if request.failures >= MAX_FAILURES:
            continue
        made = _made.get((request.request_id, filters))
        if made is None or made[0] is not request:
            made = (request, _candidates(request, filters))
            _made[request.request_id, filters] = made
        out += made[1]
    return out


def _candidates(request: QueuedRequest, filters: tuple[str, ...]) -> list[Candidate]:
    wanted = request.wanted_filters
    usable = [f for f in wanted if f in filters]
    return [Candidate(
        request_id=request.request_id, target=request.target, ra_deg=request.ra_deg,
        dec_deg=request.dec_deg, filter=filter_name, exposure_s=request.exposure_s,
        program=request.program, kind=request.kind, priority=request.priority,
        proposed_by="queue", not_before=request.not_before, not_after=request.not_after,
        v_mag=request.v_mag,
    ) for filter_name in usable or wanted[:1]]
