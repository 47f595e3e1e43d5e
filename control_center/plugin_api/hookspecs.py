"""Every extension point of OpenAstro, with its calling contract.

A plugin implements any subset of these with :data:`hookimpl`. Calls are
isolated per plugin: an implementation that raises, runs past the time budget
(``Settings.plugin_time_budget_s``) or returns a value of the wrong type is
recorded as a ``PluginFailed`` event and left out; the loop goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from control_center.eventlog.envelope import LogEvent
from control_center.network import Network
from control_center.plugin_api.types import (
    Candidate,
    Choice,
    DecisionContext,
    NightPlan,
    Rejection,
    Score,
    Settings,
)

PROJECT = "openastro"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(historic=True)
def openastro_configure(settings: Settings, network: Network) -> None:
    """Called once at start-up with the run settings and the network.

    Historic: a plugin registered later still receives it.
    """


@hookspec
def openastro_night_started(night: NightPlan) -> None:
    """Called when a run starts, before its first decision (e.g. to build caches)."""


@hookspec
def openastro_event(event: LogEvent) -> None:
    """Called with every event appended to the log, in log order.

    Subscribe by type with ``isinstance``. Must be quick; return value ignored.
    """


@hookspec
def openastro_trigger(event: LogEvent) -> str | None:
    """Return a reason if ``event`` should trigger a new decision, else None.

    The core already triggers on an observation ending and on a site opening;
    plugins add their own triggers (weather, alerts, overrides).
    """


@hookspec
def openastro_propose(context: DecisionContext) -> list[Candidate]:
    """Propose candidates for ``context.telescope``.

    Generators: queue items, survey fields, follow-ups, calibrations,
    opportunistic work. All results are concatenated; when several plugins
    propose the same key, the proposal with the highest priority is kept (the
    first one on a tie), so a plugin can raise a candidate's priority by
    proposing it again.
    """


@hookspec
def openastro_filter(context: DecisionContext, candidates: Sequence[Candidate]) -> list[Rejection]:
    """Return a :class:`Rejection` for each candidate that breaks a hard constraint.

    Constraint plugins: vectorise over ``candidates``. A candidate rejected by
    any plugin is out; every rejection is recorded with its value and limit.
    """


@hookspec(firstresult=True)
def openastro_score(context: DecisionContext, candidates: Sequence[Candidate]) -> list[Score] | None:
    """Score feasible candidates: expected science value with uncertainty.

    First result: implement only if ``context.settings.scorer`` names your
    plugin, otherwise return None.
    """


@hookspec(firstresult=True)
def openastro_choose(
    context: DecisionContext, candidates: Sequence[Candidate], scores: Sequence[Score]
) -> Choice | None:
    """Choose one of the scored candidates for the telescope.

    First result: answer only if ``context.settings.policy`` names your
    plugin, otherwise return None. Return a Choice naming a candidate key.
    """


@hookspec
def openastro_assigned(context: DecisionContext, candidate: Candidate) -> None:
    """Called after an assignment was recorded and sent to the site."""
