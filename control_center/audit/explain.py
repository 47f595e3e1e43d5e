"""Everything the log knows about one decision, gathered for an auditor.

:func:`explain_decision` collects the decision's events (they share its
stream), the night it belongs to (plugin and model versions, settings), the
event that triggered it and the assignment it caused; :func:`format_explanation`
prints it.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from control_center.events import (
    AssignmentChosen,
    CandidatesProposed,
    CandidatesRejected,
    CandidatesScored,
    DecisionTriggered,
    NightStarted,
    NoAssignment,
    ObservationAssigned,
    PluginFailed,
)

__all__ = ["DecisionNotFound", "Explanation", "explain_decision", "find_decision",
           "format_explanation"]

CAUSE_SEARCH_DEPTH = 50_000
"""How far back (events) the triggering event is looked for."""


class DecisionNotFound(LookupError):
    """No decision (or more than one) matches the id given."""


@dataclass
class Explanation:
    """One decision as recorded: its inputs, steps, outcome and context."""

    decision_id: uuid.UUID
    position: int
    trigger: DecisionTriggered
    candidates: list[dict] = field(default_factory=list)
    rejections: list[dict] = field(default_factory=list)
    scores: list[dict] = field(default_factory=list)
    scorer: str = ""
    failures: list[PluginFailed] = field(default_factory=list)
    chosen: AssignmentChosen | None = None
    no_assignment: NoAssignment | None = None
    assigned: ObservationAssigned | None = None
    night: NightStarted | None = None
    cause: object | None = None
    cause_position: int | None = None

    def to_dict(self) -> dict:
        """Plain data (``openastro explain --json``)."""
        t = self.trigger
        outcome = ({"chosen": self.chosen.candidate, "policy": self.chosen.policy,
                    "reason": self.chosen.reason} if self.chosen else
                   {"chosen": None, "policy": self.no_assignment.policy if self.no_assignment
                    else "", "reason": self.no_assignment.reason if self.no_assignment else ""})
        return {
            "decision_id": str(self.decision_id), "position": self.position,
            "sim_time": t.sim_time.isoformat(), "site": t.site, "telescope": t.telescope,
            "trigger": t.trigger,
            "cause": ({"type": type(self.cause).__name__, "position": self.cause_position}
                      if self.cause is not None else None),
            "inputs": t.inputs, "candidates": self.candidates, "rejections": self.rejections,
            "scorer": self.scorer, "scores": self.scores,
            "plugin_failures": [{"plugin": f.plugin, "hook": f.hook, "failure": f.failure,
                                 "message": f.message} for f in self.failures],
            **outcome,
            "observation_id": self.assigned.observation_id if self.assigned else None,
            "night_id": str(self.night.originator_id) if self.night else None,
            "plugin_versions": self.night.plugin_versions if self.night else {},
            "settings": self.night.settings if self.night else {},
        }


def find_decision(log, text: str) -> tuple[uuid.UUID, int]:
    """The decision whose id is ``text`` or starts with it; returns (id, log position).

    Raises
    ------
    DecisionNotFound
        If none or several decisions match.
    """
    text = text.strip().lower()
    if len(text) < 4:
        raise DecisionNotFound(f"decision id {text!r} is too short (give at least 4 characters)")
    matches = []
    for recorded in log.read(types=[DecisionTriggered]):
        if str(recorded.event.originator_id).startswith(text):
            matches.append((recorded.event.originator_id, recorded.position))
            if len(matches) > 1 and len(text) < 36:
                break
    if not matches:
        raise DecisionNotFound(f"no decision with id {text!r} in {log.url}")
    if len(matches) > 1:
        raise DecisionNotFound(f"{text!r} matches several decisions; give more characters")
    return matches[0]


def explain_decision(log, decision: str | uuid.UUID) -> Explanation:
    """Gather what the log records about one decision (id or unique id prefix)."""
    decision_id, position = find_decision(log, str(decision))
    events = log.stream(decision_id)
    trigger = events[0]
    out = Explanation(decision_id, position, trigger)
    for event in events[1:]:
        if isinstance(event, CandidatesProposed):
            out.candidates = event.rows()
        elif isinstance(event, CandidatesRejected):
            out.rejections = event.rows()
        elif isinstance(event, CandidatesScored):
            out.scores, out.scorer = event.rows(), event.scorer
        elif isinstance(event, PluginFailed):
            out.failures.append(event)
        elif isinstance(event, AssignmentChosen):
            out.chosen = event
        elif isinstance(event, NoAssignment):
            out.no_assignment = event
    if out.chosen is not None:
        for recorded in log.read(after=position, limit=len(events) + 4):
            event = recorded.event
            if isinstance(event, ObservationAssigned) and \
                    event.causation_id == out.chosen.event_id:
                out.assigned = event
                break
    if trigger.correlation_id is not None:
        night = log.stream(trigger.correlation_id)
        if night and isinstance(night[0], NightStarted):
            out.night = night[0]
    if trigger.causation_id is not None:
        for recorded in log.read_reverse(before=position, limit=CAUSE_SEARCH_DEPTH):
            if recorded.event.event_id == trigger.causation_id:
                out.cause, out.cause_position = recorded.event, recorded.position
                break
    return out


# -- text ------------------------------------------------------------------------------------

def format_explanation(x: Explanation, *, top: int = 15) -> str:
    """The explanation as text; ``top`` limits the candidate table (0: all)."""
    t = x.trigger
    inputs = t.inputs
    lines = [f"Decision {x.decision_id}  (log #{x.position})",
             f"  {_when(t.sim_time)}   telescope {t.telescope} at {t.site}"]
    cause = ""
    if x.cause is not None:
        cause = f"  (caused by {type(x.cause).__name__} #{x.cause_position}{_about(x.cause)})"
    lines.append(f"Trigger: {t.trigger}{cause}")
    settings = x.night.settings if x.night else {}
    lines.append(f"Policy {inputs.get('policy', '?')}, scorer {inputs.get('scorer', '?')}, "
                 f"decision seed {inputs.get('seed', '?')}"
                 + (f", night seed {settings.get('seed')}" if settings else ""))

    lines += ["", "State the decision saw:"]
    here = inputs.get("conditions", {})
    lines.append(f"  conditions at {t.site}: {_conditions(here)}")
    for site, c in sorted(inputs.get("conditions_by_site", {}).items()):
        if site != t.site:
            lines.append(f"  conditions at {site}: {_conditions(c)}")
    ra, dec = inputs.get("pointing", [None, None])
    pointing = f"RA {ra:.3f} Dec {dec:+.3f}" if ra is not None else "parked"
    lines.append(f"  {t.telescope}: pointing {pointing}, filter {inputs.get('filter') or '-'}")
    for name, s in sorted(inputs.get("telescopes", {}).items()):
        if name != t.telescope:
            doing = (f"busy with {s['busy_with']} until {s['busy_until'][11:19]}"
                     if s.get("busy_with") else "idle")
            lines.append(f"  {name}: {doing}")
    offline = inputs.get("offline_sites") or []
    lines.append(f"  offline sites: {', '.join(offline) if offline else 'none'}")
    overrides = inputs.get("overrides") or []
    lines.append("  overrides in force: " + ("; ".join(_override(o) for o in overrides)
                                             if overrides else "none"))
    lines.append(f"  queue: {inputs.get('queue_size', '?')} pending requests")

    rejected = {r["candidate"] for r in x.rejections}
    by_proposer = Counter(c.get("proposed_by") or "?" for c in x.candidates)
    lines += ["", f"Candidates: {len(x.candidates)} proposed ("
              + ", ".join(f"{n} by {p}" for p, n in by_proposer.most_common())
              + f"), {len(x.candidates) - len(rejected)} feasible, {len(x.scores)} scored by "
              f"{x.scorer or '-'}"]
    lines += _score_table(x, top)
    lines += ["", f"Rejections: {len(x.rejections)}"]
    grouped: dict[str, list[dict]] = defaultdict(list)
    for r in x.rejections:
        grouped[r["constraint"]].append(r)
    for constraint, rows in sorted(grouped.items(), key=lambda kv: -len(kv[1])):
        first = rows[0]
        lines.append(f"  {constraint:<12} {len(rows):>5}  e.g. {first['candidate']}: "
                     f"{first['value']} vs limit {first['limit']}"
                     + (f" ({first['plugin']})" if first.get("plugin") else ""))

    lines.append("")
    if x.chosen is not None:
        c = x.chosen.candidate
        lines.append(f"Choice: {c['key']} ({c['target']} in {c['filter']}, {c['exposure_s']:g} s) "
                     f"by {x.chosen.policy}")
        lines.append(f"  reason: {x.chosen.reason}")
        if x.assigned is not None:
            a = x.assigned
            lines.append(f"  assigned as observation {a.observation_id}, expected "
                         f"{a.expected_start:%H:%M:%S}-{a.expected_end:%H:%M:%S} UTC, "
                         f"value {a.expected_value:.2f}")
    elif x.no_assignment is not None:
        lines.append(f"No assignment ({x.no_assignment.policy}): {x.no_assignment.reason}")
    if x.failures:
        lines.append("Plugin failures:")
        lines += [f"  {f.plugin}.{f.hook}: {f.failure}: {f.message}" for f in x.failures]
    else:
        lines.append("Plugin failures: none")

    if x.night is not None:
        versions = x.night.plugin_versions or {p: "?" for p in x.night.plugins}
        grouped_versions: dict[str, list[str]] = defaultdict(list)
        for plugin, version in sorted(versions.items()):
            grouped_versions[version].append(plugin)
        lines += ["", f"Night {x.night.originator_id} ({x.night.network_name})"]
        lines += [f"  {version}: {', '.join(names)}"
                  for version, names in sorted(grouped_versions.items())]
        models = inputs.get("models") or {}
        if models:
            lines.append("  models: " + ", ".join(f"{k} {v}" for k, v in sorted(models.items())))
    return "\n".join(lines)


def _score_table(x: Explanation, top: int) -> list[str]:
    if not x.scores:
        return []
    by_key = {c["key"]: c for c in x.candidates}
    chosen = x.chosen.candidate["key"] if x.chosen else None
    ranked = sorted(x.scores, key=lambda s: (-s["value"], s["sigma"], s["candidate"]))
    shown = ranked if top <= 0 else ranked[:top]
    header = (f"  {'rank':>4}  {'candidate':<28} {'kind':<13} {'proposed by':<14} "
              f"{'value':>7} {'±':>6}")
    out = [header]
    for i, s in enumerate(shown, 1):
        c = by_key.get(s["candidate"], {})
        mark = "*" if s["candidate"] == chosen else " "
        out.append(f"  {i:>3}{mark}  {s['candidate'][:28]:<28} {c.get('kind', '?'):<13} "
                   f"{(c.get('proposed_by') or '?')[:14]:<14} {s['value']:>7.3f} "
                   f"{s['sigma']:>6.3f}")
    if len(ranked) > len(shown):
        out.append(f"  ... {len(ranked) - len(shown)} more (--all shows every one)")
    return out


def _conditions(c: dict) -> str:
    if not c:
        return "unknown"
    state = "open" if c.get("open") else f"closed ({c.get('reason') or '?'})"
    return (f"{state}, cloud {c['cloud_cover']:.2f}, humidity {c['humidity']:.2f}, "
            f"wind {c['wind_m_s']:.1f} m/s, seeing {c['seeing_arcsec']:.2f}\", "
            f"sky {c['sky_v_mag_arcsec2']:.2f} mag/arcsec2")


def _override(o: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in o.items())


def _about(event) -> str:
    parts = [str(getattr(event, name)) for name in ("site", "target", "request_id", "reason")
             if getattr(event, name, None)]
    return f": {', '.join(parts[:2])}" if parts else ""


def _when(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S} UTC (simulated time)"
