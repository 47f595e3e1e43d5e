"""One decision for one telescope, every step a plugin hook, recorded as one batch.

The loop asks the generators for candidates, the constraints for rejections,
the configured scorer for values and the configured policy for a choice. Each
step's outcome is an event; a plugin failure is a ``PluginFailed`` event and
the loop goes on with what the other plugins returned (and, if the scorer or
the policy failed, with a documented fallback).
"""

from __future__ import annotations

import gc
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from control_center.eventlog.envelope import LogEvent
from control_center.events import (
    AssignmentChosen,
    CandidatesProposed,
    CandidatesRejected,
    CandidatesScored,
    DecisionTriggered,
    NoAssignment,
    PluginFailed,
)
from control_center.events.decision import (
    CANDIDATE_FIELDS,
    REJECTION_FIELDS,
    SCORE_FIELDS,
    to_columns,
)
from control_center.plugin_api.types import (
    Candidate,
    Conditions,
    DecisionContext,
    NightPlan,
    QueuedRequest,
    Score,
    Settings,
    TelescopeState,
)

__all__ = ["Decision", "DecisionLoop", "Evaluation", "decision_inputs"]

CORE = "control-center"
OBSERVER = "observer:"


@dataclass
class Decision:
    """What a decision produced: the chosen candidate (or None) and its events."""

    decision_id: uuid.UUID
    context: DecisionContext
    chosen: Candidate | None
    score: Score | None
    reason: str
    events: list[LogEvent] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    """Log positions of ``events``."""

    @property
    def last_event(self) -> LogEvent:
        return self.events[-1]


@dataclass
class Evaluation:
    """The outcome of the four steps of a decision, before it is recorded."""

    candidates: list[Candidate]
    rejections: list[dict]
    scorer: str
    scores: list[Score]
    policy: str
    chosen: Candidate | None
    reason: str
    failures: list = field(default_factory=list)


class DecisionLoop:
    """Runs decisions through the plugin host and records each in the log.

    Parameters
    ----------
    host : PluginHost
        Loaded plugins (its failures are collected per decision).
    log : EventLog
        Where decisions are recorded.
    settings : Settings
    seed : int
        Seed of the loop's random stream (decision ids and per-decision seeds).
    """

    def __init__(self, host, log, settings: Settings, seed: int) -> None:
        self.host = host
        self.log = log
        self.settings = settings
        self._rng = random.Random(seed)
        self._failures: list = []
        host.add_failure_listener(self._failures.append)

    def decide(
        self,
        *,
        now: datetime,
        trigger: str,
        night: NightPlan,
        telescope: TelescopeState,
        conditions_by_site: Mapping[str, Conditions],
        queue: Sequence[QueuedRequest],
        busy_targets: Mapping[str, str],
        telescopes: Mapping[str, TelescopeState] | None = None,
        offline_sites: frozenset[str] = frozenset(),
        overrides: Sequence[Mapping[str, Any]] = (),
        cause: LogEvent | None = None,
        correlation_id: uuid.UUID | None = None,
        assign: Callable[[Candidate, Score | None, Any, LogEvent], None] | None = None,
    ) -> Decision:
        """Make and record one decision for ``telescope`` at ``now``.

        ``assign(candidate, score, batch, chosen_event)`` is called inside the
        decision's batch when a candidate is chosen, so the command to the site
        is recorded atomically with the decision that caused it. ``overrides``
        are the observers' overrides in force for this telescope
        (:meth:`~control_center.projections.overrides.OverridesInForce.for_decision`):
        a vetoed request is rejected, a forced one is proposed and, if feasible,
        chosen.
        """
        with _collector_paused():
            return self._decide(now, trigger, night, telescope, conditions_by_site, queue,
                                busy_targets, telescopes, offline_sites, overrides, cause,
                                correlation_id, assign)

    def _decide(self, now, trigger, night, telescope, conditions_by_site, queue, busy_targets,
                telescopes, offline_sites, overrides, cause, correlation_id,
                assign) -> Decision:
        decision_id = uuid.UUID(int=self._rng.getrandbits(128), version=4)
        context = DecisionContext(
            decision_id=decision_id, trigger=trigger, now=now, night=night, telescope=telescope,
            conditions=conditions_by_site[telescope.site.name],
            conditions_by_site=conditions_by_site, queue=queue, busy_targets=busy_targets,
            settings=self.settings, seed=self._rng.getrandbits(32),
            telescopes=telescopes or {telescope.telescope.name: telescope},
            offline_sites=offline_sites,
            extras={"overrides": [dict(o) for o in overrides]} if overrides else {},
        )
        outcome = self.evaluate(context)
        chosen, scores = outcome.chosen, outcome.scores
        by_key = {s.candidate: s for s in scores}
        with self.log.batch(actor=CORE, sim_time=now,
                            correlation_id=correlation_id or decision_id) as batch:
            first = batch.add(
                DecisionTriggered, stream=decision_id, new_stream=True, causation=cause,
                trigger=trigger,
                site=telescope.site.name, telescope=telescope.telescope.name,
                inputs=decision_inputs(context),
            )
            proposed = batch.add(
                CandidatesProposed, stream=decision_id, causation=first,
                candidates=candidate_columns(outcome.candidates))
            filtered = batch.add(CandidatesRejected, stream=decision_id, causation=proposed,
                                 rejections=to_columns(outcome.rejections, REJECTION_FIELDS))
            scored = batch.add(CandidatesScored, stream=decision_id, causation=filtered,
                               scorer=outcome.scorer,
                               scores=to_columns([vars(s) for s in scores], SCORE_FIELDS))
            for failure in outcome.failures:
                batch.add(PluginFailed, stream=decision_id, causation=first,
                          actor=f"plugin:{failure.plugin}", plugin=failure.plugin,
                          hook=failure.hook, failure=failure.failure, message=failure.message)
            if chosen is None:
                batch.add(NoAssignment, stream=decision_id, causation=scored,
                          actor=_actor(outcome.policy),
                          policy=outcome.policy, reason=outcome.reason)
            else:
                choice = batch.add(AssignmentChosen, stream=decision_id, causation=scored,
                                   actor=_actor(outcome.policy), policy=outcome.policy,
                                   candidate=chosen.to_dict(), reason=outcome.reason)
                if assign is not None:
                    assign(chosen, by_key.get(chosen.key), batch, choice)
            events = list(batch.events)
        positions = [r.position for r in batch.recorded]
        return Decision(decision_id, context, chosen, by_key.get(chosen.key) if chosen else None,
                        outcome.reason, events, positions)

    def evaluate(self, context: DecisionContext) -> Evaluation:
        """Run propose -> filter -> score -> choose for ``context`` without recording.

        ``decide`` records what this returns; ``openastro replay --verify`` calls
        it with contexts rebuilt from the log and compares.
        """
        self._failures.clear()
        candidates = self._propose(context)
        rejections = self._filter(context, candidates)
        rejected = {r["candidate"] for r in rejections}
        feasible = [c for c in candidates if c.key not in rejected]
        scorer, scores = self._score(context, feasible)
        policy, chosen, reason = self._choose(context, feasible, scores)
        return Evaluation(candidates, rejections, scorer, scores, policy, chosen, reason,
                          list(self._failures))

    # -- the steps -------------------------------------------------------------------------

    def _propose(self, context: DecisionContext) -> list[Candidate]:
        merged: dict[str, Candidate] = {c.key: c for c in _forced_candidates(context)}
        for plugin, proposals in self.host.call_all("openastro_propose", context=context):
            for candidate in proposals:
                if not candidate.proposed_by:
                    candidate = _with_proposer(candidate, plugin)
                known = merged.get(candidate.key)
                if known is None or (candidate.priority > known.priority
                                     and not known.proposed_by.startswith(OBSERVER)):
                    merged[candidate.key] = candidate
        return list(merged.values())

    def _filter(self, context: DecisionContext, candidates: list[Candidate]) -> list[dict]:
        if not candidates:
            return []
        keys = {c.key for c in candidates}
        out = _veto_rejections(context, candidates)
        for plugin, rejections in self.host.call_all("openastro_filter", context=context,
                                                     candidates=candidates):
            for r in rejections:
                if r.candidate in keys:
                    out.append({"candidate": r.candidate, "constraint": r.constraint,
                                "value": _plain(r.value), "limit": _plain(r.limit),
                                "plugin": plugin})
        return out

    def _score(self, context: DecisionContext,
               feasible: list[Candidate]) -> tuple[str, list[Score]]:
        if not feasible:
            return self.settings.scorer, []
        answer = self.host.call_first("openastro_score", context=context, candidates=feasible)
        keys = {c.key for c in feasible}
        if answer is not None:
            plugin, scores = answer
            scores = [s for s in scores if s.candidate in keys]
            if {s.candidate for s in scores} == keys:
                return plugin, scores
        # Fallback: a scorer failed or left candidates out; priority is the value.
        return f"{CORE}:priority-fallback", [Score(c.key, c.priority, c.priority)
                                             for c in feasible]

    def _choose(self, context: DecisionContext, feasible: list[Candidate],
                scores: list[Score]) -> tuple[str, Candidate | None, str]:
        policy = self.settings.policy
        if context.conditions.open is False:
            return policy, None, f"site closed: {context.conditions.reason}"
        if not feasible:
            return policy, None, "no feasible candidate"
        forced = [c for c in feasible if c.proposed_by.startswith(OBSERVER)]
        if forced:
            override = _overrides(context, "force")[0]
            return (forced[0].proposed_by, forced[0],
                    f"forced by {override['observer']}"
                    + (f": {override['reason']}" if override["reason"] else ""))
        answer = self.host.call_first("openastro_choose", context=context, candidates=feasible,
                                      scores=scores)
        by_key = {c.key: c for c in feasible}
        if answer is not None and answer[1].candidate in by_key:
            plugin, choice = answer
            return plugin, by_key[choice.candidate], choice.reason
        best = max(scores, key=lambda s: (s.value, s.candidate))
        why = "no answer" if answer is None else f"unknown candidate {answer[1].candidate!r}"
        return (f"{CORE}:highest-score-fallback", by_key[best.candidate],
                f"policy {policy!r} gave {why}; took the highest score {best.value:.2f}")


@contextmanager
def _collector_paused():
    """No cyclic garbage collection inside a decision.

    A decision allocates tens of thousands of short-lived, acyclic objects
    (candidates, rejections, scores); generation-0 collections triggered by
    them cost a quarter of a large decision and free nothing reference
    counting would not. Collection resumes (and catches up) after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def candidate_columns(candidates: Sequence[Candidate]) -> dict[str, list]:
    """The column table of :data:`CANDIDATE_FIELDS` (times as ISO strings)."""
    rows = map(attrgetter(*CANDIDATE_FIELDS), candidates)
    columns = zip(*rows, strict=True) if candidates else ([] for _ in CANDIDATE_FIELDS)
    table = {f: list(column) for f, column in zip(CANDIDATE_FIELDS, columns, strict=True)}
    for f in ("not_before", "not_after"):
        table[f] = [None if t is None else t.isoformat() for t in table[f]]
    return table


def _actor(policy: str) -> str:
    """Who made the choice: a plugin, an observer (a forced target) or the core."""
    if not policy:
        return CORE
    return policy if policy.startswith(OBSERVER) else f"plugin:{policy}"


def _overrides(context: DecisionContext, kind: str) -> list[Mapping[str, Any]]:
    return [o for o in context.extras.get("overrides", ()) if o.get("override") == kind]


def _forced_candidates(context: DecisionContext) -> list[Candidate]:
    """The queued request an observer forced onto this telescope, as candidates."""
    out = []
    queue = {r.request_id: r for r in context.queue}
    scope = context.telescope.telescope
    for override in _overrides(context, "force"):
        request = queue.get(override["request_id"])
        if request is None:
            continue
        wanted = [f for f in request.filters if request.remaining(f) > 0]
        usable = [f for f in wanted if f in scope.filters] or wanted[:1]
        out += [Candidate(request_id=request.request_id, target=request.target,
                          ra_deg=request.ra_deg, dec_deg=request.dec_deg, filter=f,
                          exposure_s=request.exposure_s, program=request.program,
                          kind=request.kind, priority=request.priority,
                          proposed_by=f"{OBSERVER}{override['observer']}",
                          not_before=request.not_before, not_after=request.not_after,
                          v_mag=request.v_mag)
                for f in usable[:1]]
    return out


def _veto_rejections(context: DecisionContext, candidates: list[Candidate]) -> list[dict]:
    vetoes = {o["request_id"]: o for o in _overrides(context, "veto")}
    return [{"candidate": c.key, "constraint": "veto", "value": vetoes[c.request_id]["observer"],
             "limit": vetoes[c.request_id]["reason"] or "vetoed",
             "plugin": f"{OBSERVER}{vetoes[c.request_id]['observer']}"}
            for c in candidates if c.request_id in vetoes]


def _with_proposer(candidate: Candidate, plugin: str) -> Candidate:
    from dataclasses import replace

    return replace(candidate, proposed_by=plugin)


_PLAIN_TYPES = frozenset({float, int, str, type(None)})


def _plain(value):
    if type(value) in _PLAIN_TYPES:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def decision_inputs(context: DecisionContext) -> dict:
    """What a decision saw, as recorded in ``DecisionTriggered.inputs``.

    With the log before the decision (the queue, what plugins learned from
    events) this is enough to run the decision again
    (:mod:`control_center.audit.replay`).
    """
    scope = context.telescope
    return {
        "conditions": asdict(context.conditions),
        "pointing": [scope.pointing_ra_deg, scope.pointing_dec_deg],
        "filter": scope.filter,
        "queue_size": len(context.queue),
        "busy_targets": dict(context.busy_targets),
        "policy": context.settings.policy,
        "scorer": context.settings.scorer,
        "seed": context.seed,
        "conditions_by_site": {name: asdict(c) for name, c in context.conditions_by_site.items()},
        "telescopes": {name: {"pointing": [t.pointing_ra_deg, t.pointing_dec_deg],
                              "filter": t.filter, "busy_with": t.busy_with,
                              "busy_until": t.busy_until.isoformat() if t.busy_until else None}
                       for name, t in context.telescopes.items()},
        "offline_sites": sorted(context.offline_sites),
        "overrides": [dict(o) for o in context.extras.get("overrides", ())],
    }
