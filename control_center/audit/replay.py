"""Re-run every decision of a log from its recorded inputs and compare.

For each night the plugins named in its ``NightStarted`` are loaded afresh
with the recorded settings and network. The log is then fed to them in order,
exactly as the night loop fed it (``openastro_event``, ``openastro_trigger``,
and the request queue); at each ``DecisionTriggered`` the decision is made
again (:meth:`~control_center.decision.DecisionLoop.evaluate`) from the
context rebuilt from its ``inputs``, and compared with what was recorded:
candidates, rejections, scores, plugin failures and the choice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from control_center.decision import DecisionLoop
from control_center.decision.loop import Evaluation
from control_center.events import (
    AssignmentChosen,
    CandidatesProposed,
    CandidatesRejected,
    CandidatesScored,
    DecisionTriggered,
    NightStarted,
    NoAssignment,
    PluginFailed,
)
from control_center.network import Network, NetworkFileError, network_from_dict
from control_center.plugin_api.types import (
    Conditions,
    DecisionContext,
    NightPlan,
    Settings,
    TelescopeState,
)
from control_center.projections.request_queue import RequestQueue

__all__ = ["Mismatch", "ReplayReport", "replay_log"]


@dataclass(frozen=True)
class Mismatch:
    """A decision that came out differently when re-run."""

    decision_id: uuid.UUID
    position: int
    sim_time: datetime
    telescope: str
    step: str
    """``candidates``, ``rejections``, ``scores``, ``failures`` or ``choice``."""
    detail: str

    def __str__(self) -> str:
        return (f"decision {self.decision_id} (#{self.position}, "
                f"{self.sim_time:%Y-%m-%d %H:%M:%S} UTC, {self.telescope}): "
                f"{self.step} differ: {self.detail}")


@dataclass
class ReplayReport:
    """What a replay found."""

    nights: int = 0
    decisions: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Nights or decisions that could not be re-run, with why."""

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass
class _Recorded:
    """What the log says a decision produced (filled as its events are read)."""

    trigger: DecisionTriggered
    position: int
    replayed: Evaluation
    candidates: list[str] | None = None
    rejections: list[tuple] | None = None
    scores: list[tuple] | None = None
    failures: list[tuple] = field(default_factory=list)
    choice: tuple[str, str | None] | None = None


class _Night:
    """The state a night's decisions depended on, rebuilt from the log."""

    def __init__(self, started: NightStarted, host, network: Network, settings: Settings) -> None:
        self.host, self.network, self.settings = host, network, settings
        dark = {name: tuple((datetime.fromisoformat(b), datetime.fromisoformat(e))
                            for b, e in site["dark"])
                for name, site in started.sites.items()}
        self.plan = NightPlan(started.start, started.end, network, dark)
        self.queue = RequestQueue()
        self.loop = DecisionLoop(host, None, settings, seed=0)
        self.where = {t.name: (s, t) for s, t in network.telescopes()}
        host.notify("openastro_night_started", night=self.plan)

    def feed(self, event) -> None:
        self.queue.apply_event(event)
        self.host.notify("openastro_event", event=event)
        self.host.call_all("openastro_trigger", event=event)

    def context(self, event: DecisionTriggered) -> DecisionContext:
        inputs = event.inputs
        conditions = {name: Conditions(**c) for name, c in inputs["conditions_by_site"].items()}
        states = {}
        for name, t in inputs["telescopes"].items():
            site, scope = self.where[name]
            until = t["busy_until"]
            states[name] = TelescopeState(
                site, scope, t["pointing"][0], t["pointing"][1], t["filter"], t["busy_with"],
                datetime.fromisoformat(until) if until else None)
        overrides = inputs.get("overrides") or []
        return DecisionContext(
            decision_id=event.originator_id, trigger=event.trigger, now=event.sim_time,
            night=self.plan, telescope=states[event.telescope],
            conditions=conditions[event.site], conditions_by_site=conditions,
            queue=self.queue.pending(), busy_targets=dict(inputs["busy_targets"]),
            settings=self.settings, seed=inputs["seed"], telescopes=states,
            offline_sites=frozenset(inputs["offline_sites"]),
            extras={"overrides": overrides} if overrides else {},
        )

    def close(self) -> None:
        self.host.close()


def replay_log(log, *, load_host: Callable | None = None,
               progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Re-run every decision recorded in ``log``; report each that differs.

    Parameters
    ----------
    log : EventLog
    load_host : callable, optional
        ``(settings, network, plugin_names) -> PluginHost``; by default the
        installed plugins named in the night's ``NightStarted`` are loaded.
    progress : callable, optional
        Called with the number of events read so far, every 10,000 events.
    """
    load_host = load_host or _load_installed
    report = ReplayReport()
    night: _Night | None = None
    pending: _Recorded | None = None
    try:
        for n, recorded in enumerate(log.read(), 1):
            if progress is not None and n % 10_000 == 0:
                progress(n)
            event = recorded.event
            if isinstance(event, NightStarted):
                _settle(pending, report)
                pending = None
                if night is not None:
                    night.close()
                night = _start_night(event, load_host, report)
            elif isinstance(event, DecisionTriggered) and night is not None:
                _settle(pending, report)
                pending = None
                if "conditions_by_site" not in event.inputs:
                    report.skipped.append(f"decision {event.originator_id}: recorded before "
                                          "decisions kept their full inputs")
                else:
                    report.decisions += 1
                    pending = _Recorded(event, recorded.position,
                                        night.loop.evaluate(night.context(event)))
            elif pending is not None and event.originator_id == pending.trigger.originator_id:
                _collect(pending, event)
            if night is not None:
                night.feed(event)
        _settle(pending, report)
    finally:
        if night is not None:
            night.close()
    return report


def _load_installed(settings: Settings, network: Network, names: Iterable[str]):
    from control_center.plugin_host import PluginHost

    return PluginHost.load(settings, network, enabled=list(names))


def _start_night(event: NightStarted, load_host: Callable, report: ReplayReport) -> _Night | None:
    from control_center.plugin_host import PluginError

    label = f"night {event.originator_id} ({event.start:%Y-%m-%d %H:%M} UTC)"
    if not event.network:
        report.skipped.append(f"{label}: recorded before nights kept their network")
        return None
    try:
        network = network_from_dict(event.network, event.network_source)
        settings = Settings(**event.settings)
        host = load_host(settings, network, event.plugins)
    except (NetworkFileError, PluginError, TypeError) as exc:
        report.skipped.append(f"{label}: cannot rebuild its plugins: {exc}")
        return None
    report.nights += 1
    return _Night(event, host, network, settings)


def _collect(pending: _Recorded, event) -> None:
    if isinstance(event, CandidatesProposed):
        pending.candidates = [r["key"] for r in event.rows()]
    elif isinstance(event, CandidatesRejected):
        pending.rejections = [(r["candidate"], r["constraint"], r["value"], r["limit"])
                              for r in event.rows()]
    elif isinstance(event, CandidatesScored):
        pending.scores = [(r["candidate"], r["value"], r["sigma"]) for r in event.rows()]
    elif isinstance(event, PluginFailed):
        pending.failures.append((event.plugin, event.hook, event.failure))
    elif isinstance(event, AssignmentChosen):
        pending.choice = (event.policy, event.candidate["key"])
    elif isinstance(event, NoAssignment):
        pending.choice = (event.policy, None)


def _settle(pending: _Recorded | None, report: ReplayReport) -> None:
    """Compare a decision's recorded outcome with its re-run; record the first difference."""
    if pending is None:
        return
    again = pending.replayed
    steps = [
        ("candidates", pending.candidates, [c.key for c in again.candidates]),
        ("rejections", pending.rejections,
         [(r["candidate"], r["constraint"], r["value"], r["limit"]) for r in again.rejections]),
        ("scores", pending.scores, [(s.candidate, s.value, s.sigma) for s in again.scores]),
        ("failures", pending.failures, [(f.plugin, f.hook, f.failure) for f in again.failures]),
        ("choice", pending.choice,
         (again.policy, again.chosen.key if again.chosen else None)),
    ]
    for step, recorded, replayed in steps:
        if recorded is None:
            recorded = [] if step != "choice" else None
        if recorded != replayed:
            trigger = pending.trigger
            report.mismatches.append(Mismatch(
                trigger.originator_id, pending.position, trigger.sim_time, trigger.telescope,
                step, _difference(recorded, replayed)))
            return


def _difference(recorded, replayed) -> str:
    """A short description of how two step outcomes differ."""
    if isinstance(recorded, list) and isinstance(replayed, list):
        before, after = set(map(_key, recorded)), set(map(_key, replayed))
        only_rec = [r for r in recorded if _key(r) not in after]
        only_new = [r for r in replayed if _key(r) not in before]
        if only_rec or only_new:
            return (f"{len(only_rec)} only recorded {_few(only_rec)}, "
                    f"{len(only_new)} only replayed {_few(only_new)}")
        new_by_key = {_key(r): r for r in replayed}
        for r in recorded:
            if new_by_key[_key(r)] != r:
                return f"recorded {r}, replayed {new_by_key[_key(r)]}"
        return "same entries in another order"
    return f"recorded {recorded}, replayed {replayed}"


def _key(entry):
    return entry[0] if isinstance(entry, tuple) else entry


def _few(entries: list, n: int = 3) -> str:
    shown = ", ".join(str(e) for e in entries[:n])
    return f"({shown}{', ...' if len(entries) > n else ''})" if entries else ""
