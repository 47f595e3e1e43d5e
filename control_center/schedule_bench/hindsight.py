"""The hindsight bound: the best schedule of a night for someone who knows its weather.

An offline mixed-integer program (:func:`scipy.optimize.milp`, HiGHS) over the
night cut into time slots of ``slot_s`` seconds per telescope:

* a binary ``x[telescope, slot, candidate]`` says that the candidate is
  observed on that telescope in that slot;
* its value is the candidate's **expected** science value there under the
  conditions the night will have (:mod:`~control_center.schedule_bench.value_model`,
  the simulator's own outcome model, at the middle of the slot's usable time);
* the observations of a telescope-slot fit in its usable time (dome open, Sun
  below -6 deg): ``sum duration * x <= usable seconds``, each lasting its
  exposure plus the telescope's readout and settle (the slew itself and filter
  changes are neglected, so the bound is optimistic there); with exposures of
  the order of the slot this is "at most one target per telescope-slot";
* each candidate is observed at most its wanted number of times (a request's
  repeats per filter) and only inside its time window.

The candidates are the programme book (every request in every filter) and
every candidate the generators offered during any policy's run of the night
(survey fields, calibrations, alert follow-ups, from the moment first offered),
restricted to those with a positive expected value somewhere that night.

It is solved with a time limit; when HiGHS does not prove optimality in time,
the LP relaxation (a looser but valid bound of the same model) is reported
instead, and ``method`` says which was used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from control_center.network import Network
from control_center.schedule_bench.nights import BenchNight, NightInputs
from control_center.schedule_bench.recorder import SeenCandidate
from control_center.schedule_bench.value_model import expected_values

__all__ = ["HindsightResult", "OfflineCandidate", "OfflineProblem", "build_problem",
           "hindsight_bound", "offline_candidates", "solve_problem"]

SLOT_S = 900.0
"""Default slot length (15 min)."""
SAMPLE_S = 60.0
"""Resolution at which a slot's usable time is measured."""
TIME_LIMIT_S = 60.0
MIP_REL_GAP = 1e-2


@dataclass(frozen=True)
class OfflineCandidate:
    """Something the offline schedule may observe, ``want`` times at most."""

    key: str
    ra_deg: float
    dec_deg: float
    v_mag: float
    """NaN when unknown (the simulator then assumes V = 15)."""
    filter: str
    exposure_s: float
    priority: float
    want: int
    available_from: datetime
    available_until: datetime


@dataclass
class OfflineProblem:
    """The MILP's data: one variable per (telescope-slot, candidate) pair worth something.

    ``slot[j]``, ``candidate[j]``, ``value[j]`` and ``duration[j]`` describe
    variable ``j``; ``capacity[s]`` is slot ``s``'s usable seconds and
    ``want[c]`` how often candidate ``c`` may be observed.
    """

    slot: np.ndarray
    candidate: np.ndarray
    value: np.ndarray
    duration: np.ndarray
    capacity: np.ndarray
    want: np.ndarray
    slot_names: list[tuple[str, datetime]] = field(default_factory=list)
    """(telescope, slot start) of each slot."""

    @property
    def n_variables(self) -> int:
        return int(self.value.size)


@dataclass(frozen=True)
class HindsightResult:
    """The bound of one night and how it was obtained."""

    value: float
    method: str
    """``"milp"`` (solved, within ``gap``) or ``"lp-relaxation"`` (the MILP timed out)."""
    gap: float | None
    variables: int
    candidates: int
    wall_s: float
    chosen: tuple[int, ...] = ()
    """Variables set to 1 in the MILP solution (empty for the LP)."""
    incumbent: float | None = None
    """Value of the best offline schedule the MILP found (a feasible schedule: with
    ``method`` "lp-relaxation", the bound lies between it and ``value``)."""


def offline_candidates(night: BenchNight, inputs: NightInputs,
                       offered: Sequence[Mapping[str, SeenCandidate]],
                       completions: Sequence[Mapping[str, int]] = ()) -> list[OfflineCandidate]:
    """The programme book plus everything any run was offered, as offline candidates.

    Book requests keep their repeats and time window (priority raised if a
    plugin offered them higher). Other candidates are available from the first
    moment any run offered them, wanted as often as the most any run observed
    them (at least once).
    """
    merged: dict[str, SeenCandidate] = {}
    for seen in offered:
        for key, s in seen.items():
            m = merged.get(key)
            if m is None:
                merged[key] = SeenCandidate(s.candidate, s.first_seen)
            else:
                if s.candidate.priority > m.candidate.priority:
                    m.candidate = s.candidate
                m.first_seen = min(m.first_seen, s.first_seen)
    done: dict[str, int] = {}
    for counts in completions:
        for key, n in counts.items():
            done[key] = max(done.get(key, 0), int(n))
    out: list[OfflineCandidate] = []
    book: set[str] = set()
    for r in inputs.requests:
        for f in r.filters:
            key = f"{r.request_id}/{f}"
            book.add(key)
            seen = merged.get(key)
            priority = max(r.priority, seen.candidate.priority if seen else r.priority)
            out.append(OfflineCandidate(
                key, r.ra_deg, r.dec_deg, math.nan if r.v_mag is None else float(r.v_mag), f,
                float(r.exposure_s), float(priority), int(r.repeats),
                max(night.start, r.not_before or night.start),
                min(night.end, r.not_after or night.end)))
    for key in sorted(merged):
        if key in book:
            continue
        s = merged[key]
        c = s.candidate
        begin = max(s.first_seen, c.not_before or s.first_seen)
        out.append(OfflineCandidate(
            key, c.ra_deg, c.dec_deg, math.nan if c.v_mag is None else float(c.v_mag), c.filter,
            float(c.exposure_s), float(c.priority), max(1, done.get(key, 0)), begin,
            min(night.end, c.not_after or night.end)))
    return out


def build_problem(network: Network, night: BenchNight, candidates: Sequence[OfflineCandidate],
                  *, slot_s: float = SLOT_S) -> OfflineProblem:
    """Slots, usable time and expected values of ``candidates`` over ``night``."""
    from simulator import SimulatedNetwork
    from simulator.horizon import to_seconds

    simulated = SimulatedNetwork(network, night.seed, night.start, night.end)
    t0, t1 = to_seconds(night.start), to_seconds(night.end)
    n_slots = max(1, math.ceil((t1 - t0) / slot_s - 1e-9))
    ra = np.array([c.ra_deg for c in candidates], dtype=float)
    dec = np.array([c.dec_deg for c in candidates], dtype=float)
    v_mag = np.array([c.v_mag for c in candidates], dtype=float)
    filters = np.array([c.filter for c in candidates], dtype=object)
    exposure = np.array([c.exposure_s for c in candidates], dtype=float)
    priority = np.array([c.priority for c in candidates], dtype=float)
    begin = np.array([to_seconds(c.available_from) for c in candidates], dtype=float)
    until = np.array([to_seconds(c.available_until) for c in candidates], dtype=float)
    slots, cands, values, durations, capacity, names = [], [], [], [], [], []
    for site in network.sites:
        sim = simulated[site.name]
        for scope in site.telescopes:
            has_filter = np.array([f in scope.filters for f in filters], dtype=bool)
            overhead = float(scope.readout_s) + float(scope.settle_s)
            for k in range(n_slots):
                a, b = t0 + k * slot_s, min(t1, t0 + (k + 1) * slot_s)
                samples = np.arange(a + SAMPLE_S / 2, b, SAMPLE_S)
                usable = [t for t in samples
                          if sim.weather.conditions(float(t)).open
                          and sim.ephemeris.sun_altitude(float(t)) <= -6.0]
                if not usable:
                    continue
                cap = len(usable) * SAMPLE_S
                mid = float(min(usable, key=lambda t: abs(t - (a + b) / 2)))
                eligible = np.flatnonzero(has_filter & (begin <= b) & (until >= a)
                                          & (exposure + overhead <= cap))
                if not eligible.size:
                    continue
                v = expected_values(sim, scope, mid, ra[eligible], dec[eligible],
                                    v_mag[eligible], filters[eligible], exposure[eligible],
                                    priority[eligible])
                worth = v > 1e-6
                if not worth.any():
                    continue
                s = len(capacity)
                capacity.append(cap)
                names.append((scope.name, _dt(a)))
                chosen = eligible[worth]
                slots.append(np.full(chosen.size, s))
                cands.append(chosen)
                values.append(v[worth])
                durations.append(exposure[chosen] + overhead)
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts
           else np.zeros(0, dtype=dtype))
    return OfflineProblem(cat(slots, int), cat(cands, int), cat(values, float),
                          cat(durations, float), np.array(capacity, dtype=float),
                          np.array([c.want for c in candidates], dtype=float), names)


def solve_problem(problem: OfflineProblem, *, time_limit_s: float = TIME_LIMIT_S,
                  mip_rel_gap: float = MIP_REL_GAP) -> HindsightResult:
    """Solve the offline MILP; fall back to its LP relaxation if it times out."""
    from scipy.optimize import LinearConstraint, milp
    from scipy.sparse import coo_matrix, vstack

    wall = time.perf_counter()
    n = problem.n_variables
    used = np.unique(problem.candidate)
    if n == 0:
        return HindsightResult(0.0, "milp", 0.0, 0, 0, time.perf_counter() - wall)
    cols = np.arange(n)
    by_slot = coo_matrix((problem.duration, (problem.slot, cols)),
                         shape=(problem.capacity.size, n))
    row_of = np.searchsorted(used, problem.candidate)
    by_candidate = coo_matrix((np.ones(n), (row_of, cols)), shape=(used.size, n))
    a = vstack([by_slot, by_candidate]).tocsr()
    upper = np.concatenate([problem.capacity, problem.want[used]])
    constraints = LinearConstraint(a, -np.inf, upper)
    res = milp(-problem.value, integrality=np.ones(n), bounds=(0, 1), constraints=constraints,
               options={"time_limit": float(time_limit_s), "mip_rel_gap": mip_rel_gap})
    if res.status == 0 and res.x is not None:
        chosen = tuple(int(j) for j in np.flatnonzero(res.x > 0.5))
        value = float(problem.value[list(chosen)].sum()) if chosen else 0.0
        gap = float(res.mip_gap) if res.mip_gap is not None else 0.0
        return HindsightResult(value, "milp", gap, n, int(used.size),
                               time.perf_counter() - wall, chosen, value)
    incumbent = float(-res.fun) if res.x is not None and res.fun is not None else None
    lp = milp(-problem.value, integrality=np.zeros(n), bounds=(0, 1), constraints=constraints)
    if lp.status != 0:
        raise RuntimeError(f"the LP relaxation of the hindsight bound failed: {lp.message}")
    return HindsightResult(float(-lp.fun), "lp-relaxation", None, n, int(used.size),
                           time.perf_counter() - wall, incumbent=incumbent)


def hindsight_bound(network: Network, night: BenchNight, inputs: NightInputs,
                    offered: Sequence[Mapping[str, SeenCandidate]],
                    completions: Sequence[Mapping[str, int]] = (), *, slot_s: float = SLOT_S,
                    time_limit_s: float = TIME_LIMIT_S) -> HindsightResult:
    """The hindsight bound of ``night`` (see the module docstring)."""
    wall = time.perf_counter()
    problem = build_problem(network, night, offline_candidates(night, inputs, offered,
                                                                completions), slot_s=slot_s)
    result = solve_problem(problem, time_limit_s=time_limit_s)
    return HindsightResult(result.value, result.method, result.gap, result.variables,
                           result.candidates, time.perf_counter() - wall, result.chosen,
                           result.incumbent)


def _dt(t_s: float) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(t_s, tz=UTC)
