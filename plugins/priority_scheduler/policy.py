"""The ``priority-scheduler`` policy: follow astroplan's plan for the rest of the dark time.

For each telescope the best-scored feasible candidates become astroplan
``ObservingBlock``\\ s (see :mod:`plugins.priority_scheduler.plan`), scheduled
from now to the end of the site's current dark interval; the candidate of the
block scheduled first is chosen. A target that sets soon is placed now and one
that rises later is kept for later, which is what a greedy choice cannot do.

astroplan takes about a second per plan, so the plan is kept per telescope and
followed block by block while it still holds: the site's conditions are those it
was made under, no candidate outside it now scores clearly above the median of
its candidates, and its next block is due (within ``max_drift_s`` of now).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from control_center.network import Network
from control_center.plugin_api import (
    Candidate,
    Choice,
    Conditions,
    DecisionContext,
    NightPlan,
    Score,
    Settings,
    hookimpl,
)
from plugins.priority_scheduler.plan import PlannedBlock, SchedulerSettings, plan_blocks

__all__ = ["NAME", "DecisionTiming", "PrioritySchedulerPolicy"]

NAME = "priority-scheduler"
SCHEDULER = "astroplan PriorityScheduler"


@dataclass
class _Plan:
    """A plan for one telescope and what it was made from."""

    made_at: datetime
    end: datetime
    conditions: Conditions
    keys: frozenset[str]
    bar: float
    """A candidate outside the plan scoring above this (the median score of the plan's
    candidates, plus the tolerance) would rank in its top half: the plan is stale."""
    blocks: tuple[PlannedBlock, ...]
    error: str | None = None
    """Why astroplan gave no plan, if it raised."""
    used: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class DecisionTiming:
    """Wall time of one ``openastro_choose`` call and how it was answered."""

    seconds: float
    how: str
    """``"planned"`` (astroplan ran), ``"cached"`` (plan reused) or ``"nothing-scheduled"``."""


class PrioritySchedulerPolicy:
    """Policy plugin wrapping astroplan's ``PriorityScheduler`` per telescope.

    Parameters
    ----------
    settings : SchedulerSettings, optional
        Blocks offered, time resolution, airmass and Sun limits.
    max_drift_s : float
        A cached plan is followed only while its next block is due within this
        many seconds of now (earlier or later); otherwise a new plan is made.
    rank_tolerance : float
        A candidate outside the cached plan invalidates it when it scores more
        than this fraction above the median score of the plan's candidates (it
        would rank in the plan's top half).

    Attributes
    ----------
    timings : list of DecisionTiming
        One entry per answered decision (measurement only; never recorded in the log).
    replans : Counter
        Why plans were made: no plan yet, conditions changed, a better candidate
        appeared, the next block was not due...
    """

    def __init__(self, settings: SchedulerSettings | None = None, *,
                 max_drift_s: float = 1200.0, rank_tolerance: float = 0.1) -> None:
        self.settings = settings or SchedulerSettings()
        self.max_drift = timedelta(seconds=max_drift_s)
        self.rank_tolerance = rank_tolerance
        self.timings: list[DecisionTiming] = []
        self.replans: Counter[str] = Counter()
        self._plans: dict[str, _Plan] = {}
        self._active = False

    # -- set-up -----------------------------------------------------------------------------

    @hookimpl
    def openastro_configure(self, settings: Settings, network: Network) -> None:
        self._active = settings.policy == NAME

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        self._plans.clear()
        if self._active:
            _warm_up(night)

    # -- the choice -------------------------------------------------------------------------

    @hookimpl
    def openastro_choose(self, context: DecisionContext, candidates: Sequence[Candidate],
                         scores: Sequence[Score]) -> Choice | None:
        if context.settings.policy != NAME or not scores:
            return None
        dark_end = _dark_end(context)
        if dark_end is None:
            return None
        started = time.perf_counter()
        by_key = {c.key: c for c in candidates}
        values = {s.candidate: s.value for s in scores if s.candidate in by_key}
        if not values:
            return None
        telescope = context.telescope.telescope.name
        plan = self._plans.get(telescope)
        how = "cached"
        pick = None
        stale = "no plan" if plan is None else self._stale(plan, context, values, dark_end)
        if stale is None:
            pick = self._next_block(plan, values, context.now)
            stale = None if pick is not None else "next block not due or not feasible"
        if pick is None:
            self.replans[stale] += 1
            how = "planned"
            plan = self._plan(context, by_key, scores, dark_end)
            self._plans[telescope] = plan
            pick = self._next_block(plan, values, None)
        if pick is None:
            how = "nothing-scheduled"
            best = max((s for s in scores if s.candidate in by_key),
                       key=lambda s: (s.value, -s.sigma, s.candidate))
            why = f" ({plan.error})" if plan.error else ""
            choice = Choice(best.candidate,
                            f"{SCHEDULER} placed none of {len(plan.keys)} blocks before "
                            f"{dark_end:%H:%M} UTC{why}; took the highest expected value "
                            f"{best.value:.2f}")
        else:
            plan.used.add(pick.key)
            chosen = by_key[pick.key]
            made = ("new plan" if how == "planned"
                    else f"plan of {plan.made_at:%H:%M} UTC, block {len(plan.used)}")
            choice = Choice(pick.key,
                            f"{SCHEDULER}: first scheduled block starts {pick.start:%H:%M} UTC "
                            f"({len(plan.blocks)} of {len(plan.keys)} blocks placed until "
                            f"{dark_end:%H:%M}; {made}): {chosen.target} in {chosen.filter}, "
                            f"value {values[pick.key]:.2f}")
        self.timings.append(DecisionTiming(time.perf_counter() - started, how))
        return choice

    def timing_summary(self) -> dict[str, object]:
        """Count, mean, p95 and max seconds per decision, and the share of cached answers."""
        seconds = np.array([t.seconds for t in self.timings])
        if not len(seconds):
            return {"decisions": 0}
        return {"decisions": len(seconds), "mean_s": float(seconds.mean()),
                "p95_s": float(np.percentile(seconds, 95)), "max_s": float(seconds.max()),
                "cached_fraction": sum(t.how == "cached" for t in self.timings) / len(seconds),
                "planned_mean_s": float(np.mean([t.seconds for t in self.timings
                                                 if t.how != "cached"] or [0.0])),
                "replans": dict(self.replans)}

    # -- internals --------------------------------------------------------------------------

    def _plan(self, context: DecisionContext, by_key: dict[str, Candidate],
              scores: Sequence[Score], dark_end: datetime) -> _Plan:
        ranked = sorted((s for s in scores if s.candidate in by_key),
                        key=lambda s: (-s.value, s.sigma, s.candidate))
        offered = ranked[:self.settings.max_blocks]
        scope = context.telescope
        error = None
        try:
            blocks = plan_blocks(scope.site, scope.telescope,
                                 [by_key[s.candidate] for s in offered], context.now, dark_end,
                                 self.settings)
        except ValueError as exc:   # astroplan's own inconsistencies (e.g. issue #368)
            blocks, error = (), f"astroplan failed: {exc}"
        median = float(np.median([s.value for s in offered]))
        return _Plan(made_at=context.now, end=dark_end, conditions=context.conditions,
                     keys=frozenset(s.candidate for s in offered),
                     bar=median * (1.0 + self.rank_tolerance), blocks=blocks, error=error)

    def _stale(self, plan: _Plan, context: DecisionContext, values: dict[str, float],
               dark_end: datetime) -> str | None:
        """Why ``plan`` no longer holds, or None if it does."""
        if plan.end != dark_end or context.now >= plan.end:
            return "another dark interval"
        if plan.conditions != context.conditions:
            return "conditions changed"
        if any(v > plan.bar for k, v in values.items() if k not in plan.keys):
            return "a candidate outside the plan scores higher"
        return None

    def _next_block(self, plan: _Plan, values: dict[str, float],
                    now: datetime | None) -> PlannedBlock | None:
        """The first unused block whose candidate is feasible now (and due, if ``now``)."""
        for block in plan.blocks:
            if block.key in values and block.key not in plan.used:
                if now is not None and abs(block.start - now) > self.max_drift:
                    return None
                return block
        return None


def _warm_up(night: NightPlan) -> None:
    """Pay astroplan's first-use costs (imports, tables, each site's observer and Sun)
    in the set-up hook rather than in a site's first decision."""
    for site in night.network.sites:
        if not site.telescopes:
            continue
        scope = site.telescopes[0]
        begin = next(iter(night.dark.get(site.name, ())), (night.start, night.end))[0]
        probe = Candidate("warm-up", "warm-up", 0.0, 0.0, scope.filters[0], 1.0, "warm-up",
                          "calibration", 0.0)
        plan_blocks(site, scope, [probe], begin, begin + timedelta(minutes=10))


def _dark_end(context: DecisionContext) -> datetime | None:
    """End of the dark interval the telescope's site is in now (None outside darkness)."""
    for begin, end in context.night.dark.get(context.telescope.site.name, ()):
        if begin <= context.now < end:
            return end
    return None
