"""Event-log benchmarks: append, fold (projection rebuild) and verify throughput.

Usage::

    .venv/bin/python benchmarks/bench_eventlog.py [--backend sqlite|postgres|both]
        [--events N] [--verify-events 1000000] [--repeat 3]
        [--workload decision|narrow|both] [--only append|fold|verify ...]
        [--undeclared-streams]

Workloads, written with the real event classes of ``control_center.events``,
one ``log.batch`` per decision as the night loop writes them:

- ``decision``: a decision of a real demo night. A new decision stream with
  ``DecisionTriggered``, ``CandidatesProposed`` (740 candidates as column
  tables), ``CandidatesRejected`` (560), ``CandidatesScored`` (180),
  ``AssignmentChosen``, and an ``ObservationAssigned`` in a new observation
  stream: 6 events, ~128 kB of JSON, ~25 kB stored (the three tables are
  compressed). Sizes as in ``openastro demo --headless --in-process --hours 2
  --seed 1`` (median 739 / 562 / 177 per decision; ~122 kB, ~19 kB stored).
- ``narrow``: small decisions, 20 events each: the same six events with 6 / 4
  / 2 candidates, plus 14 ``SiteConditionsChanged`` on the three site streams
  (~600 bytes a record).

Measured:

- append (events/s), with the default durability and with ``durable=False``.
  Goal >= 10,000 events/s. Each decision declares its two new streams
  (``new_stream=True``); ``--undeclared-streams`` leaves them to a version
  look-up each, as the night loop does until it declares them.
- fold: ``LogStats`` rebuilt from position 0 over the appended log (goal
  >= 100,000 events/s); also a projection that decodes every event.
- verify: ``log.verify()`` over ``--verify-events`` records (bulk loaded with
  the same chain outside the measurement, bodies of the narrow workload).
  Goal 1,000,000 in <= 20 s.

PostgreSQL runs on a throwaway local cluster started here, with its default
durability settings (fsync on), like the SQLite file (synchronous=FULL).
Medians of ``--repeat`` runs are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from control_center.eventlog import EventLog, stream_id
from control_center.eventlog.chain import GENESIS, seal
from control_center.eventlog.schema import meta_table
from control_center.events import (
    AssignmentChosen,
    CandidatesProposed,
    CandidatesRejected,
    CandidatesScored,
    DecisionTriggered,
    ObservationAssigned,
    SiteConditionsChanged,
)
from control_center.events.decision import (
    CANDIDATE_FIELDS,
    REJECTION_FIELDS,
    SCORE_FIELDS,
    to_columns,
)
from control_center.projections import LogStats, Projection, ProjectionStore

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)
SITES = ("la-palma", "cerro-pachon", "hanle")
PROGRAMS = (("survey", "survey", 150), ("clusters", "science", 75), ("galaxies", "science", 70),
            ("transients", "followup", 30), ("nebulae", "science", 20),
            ("variables", "science", 20), ("standards", "calibration", 12))
VARIANTS = 32
"""Different decisions generated before timing; the timed loop cycles through them."""
NEW_STREAMS = True
"""Declare each decision's new streams (``new_stream=True``), as the night loop can."""


@dataclass(frozen=True)
class Workload:
    """Shape of one decision batch."""

    name: str
    candidates: int
    rejected: int
    scored: int
    telemetry: int

    @property
    def events(self) -> int:
        return 6 + self.telemetry


WORKLOADS = {
    "decision": Workload("decision", candidates=740, rejected=560, scored=180, telemetry=0),
    "narrow": Workload("narrow", candidates=6, rejected=4, scored=2, telemetry=14),
}


def _requests(rng: random.Random) -> list[dict[str, Any]]:
    """A queue like the demo's: programs of targets, each in g and r."""
    out = []
    for program, kind, count in PROGRAMS:
        for i in range(count):
            ra, dec = rng.uniform(0, 360), rng.uniform(-80, 60)
            target = f"{program[:3].upper()}{i:04d}"
            for band in ("g", "r"):
                out.append({"request_id": f"{program}-{target}", "target": target,
                            "ra_deg": ra, "dec_deg": dec, "filter": band,
                            "exposure_s": 60.0 if kind != "survey" else 30.0,
                            "program": program, "kind": kind,
                            "priority": round(rng.uniform(1, 10), 1), "proposed_by": "queue",
                            "not_before": None, "not_after": None,
                            "key": f"{program}-{target}/{band}"})
    return out


@dataclass(frozen=True)
class DecisionData:
    """Fields of one decision's events, generated before timing."""

    inputs: dict
    candidates: dict
    rejections: dict
    scores: dict
    chosen: dict
    value: float


def make_variants(workload: Workload, seed: int = 1) -> list[DecisionData]:
    """``VARIANTS`` different decisions of ``workload`` (deterministic from ``seed``)."""
    rng = random.Random(seed)
    queue = _requests(rng)
    out = []
    for _ in range(VARIANTS):
        # Proposed in queue order; the constraints reject some, the rest is scored.
        picked = sorted(rng.sample(range(len(queue)), workload.candidates))
        proposed = [queue[i] for i in picked]
        out_of_reach = set(rng.sample(range(len(proposed)), workload.rejected))
        rejected = [c for i, c in enumerate(proposed) if i in out_of_reach]
        feasible = [c for i, c in enumerate(proposed) if i not in out_of_reach]
        feasible = feasible[:workload.scored]
        rejections = [{"candidate": c["key"], "constraint": "altitude",
                       "value": round(rng.uniform(-60, 25), 2), "limit": 25.0,
                       "plugin": "constraints"} for c in rejected]
        scores = [{"candidate": c["key"], "value": round(rng.uniform(0, 6), 4),
                   "sigma": round(rng.uniform(0.1, 0.9), 4)} for c in feasible]
        best = max(range(len(scores)), key=lambda i: scores[i]["value"])
        inputs = {"conditions": {"cloud_cover": 0.0, "humidity": rng.random(),
                                 "wind_m_s": rng.uniform(0, 12), "seeing_arcsec": 1.4,
                                 "sky_v_mag_arcsec2": 21.6, "open": True, "reason": ""},
                  "pointing": [rng.uniform(0, 360), rng.uniform(-80, 60)], "filter": "r",
                  "queue_size": len(queue) // 2, "busy_targets": {}, "policy": "greedy",
                  "scorer": "value-formula", "seed": rng.getrandbits(32)}
        out.append(DecisionData(
            inputs=inputs,
            candidates=to_columns(proposed, CANDIDATE_FIELDS),
            rejections=to_columns(rejections, REJECTION_FIELDS),
            scores=to_columns(scores, SCORE_FIELDS),
            chosen=feasible[best], value=scores[best]["value"]))
    return out


def add_decision(log: EventLog, workload: Workload, data: DecisionData, n: int) -> None:
    """Record decision ``n`` (new decision and observation streams) in one batch."""
    decision = uuid.UUID(int=n + 1, version=4)
    now = T0 + timedelta(seconds=30 * n)
    site, telescope = "hanle", "hanle-0.7m"
    new = {"new_stream": True} if NEW_STREAMS else {}
    with log.batch(actor="control-center", sim_time=now, correlation_id=decision) as b:
        trig = b.add(DecisionTriggered, stream=decision, **new, trigger="observation-ended",
                     site=site, telescope=telescope, inputs=data.inputs)
        prop = b.add(CandidatesProposed, stream=decision, causation=trig,
                     candidates=data.candidates)
        rej = b.add(CandidatesRejected, stream=decision, causation=prop,
                    rejections=data.rejections)
        scored = b.add(CandidatesScored, stream=decision, causation=rej, scorer="value-formula",
                       scores=data.scores)
        c = data.chosen
        choice = b.add(AssignmentChosen, stream=decision, causation=scored,
                       actor="plugin:greedy", policy="greedy", candidate=c,
                       reason=f"highest expected value {data.value:.2f}")
        observation_id = str(uuid.uuid5(decision, "observation"))
        b.add(ObservationAssigned, stream=stream_id("observation", observation_id),
              **new, causation=choice, observation_id=observation_id, request_id=c["request_id"],
              site=site, telescope=telescope, target=c["target"], ra_deg=c["ra_deg"],
              dec_deg=c["dec_deg"], filter=c["filter"], exposure_s=c["exposure_s"],
              expected_start=now, expected_end=now + timedelta(seconds=124),
              expected_value=data.value)
        for k in range(workload.telemetry):
            where = SITES[k % 3]
            b.add(SiteConditionsChanged, stream=stream_id("site", where), causation=choice,
                  actor=f"site:{where}", site=where, cloud_cover=0.12, humidity=0.61,
                  wind_m_s=4.2, seeing_arcsec=1.08, sky_v_mag_arcsec2=21.3, open=True,
                  reason="")


class DecodeAll(Projection):
    """A projection that decodes every event's payload (the slow path)."""

    name = "bench-decode-all"

    def __init__(self) -> None:
        self.fields = 0

    def apply_event(self, event: Any) -> None:
        self.fields += len(event.__dict__)

    def to_state(self) -> dict:
        return {"fields": self.fields}

    def load_state(self, state: dict) -> None:
        self.fields = state["fields"]


# -- backends ---------------------------------------------------------------------------


@contextmanager
def backend_urls(backend: str, workdir: Path) -> Iterator[Callable[[str], str]]:
    """Yield a function giving the log URL of a name on ``backend`` (same name, same log)."""
    if backend == "sqlite":
        yield lambda name: str(workdir / f"{name}.db")
        return
    from control_center.testing.pg import PostgresCluster

    with PostgresCluster.start(fsync=True) as cluster:
        created: dict[str, str] = {}

        def url(name: str) -> str:
            if name not in created:
                created[name] = cluster.create_database(name.replace("-", "_"))
            return created[name]

        yield url


def bulk_load(log: EventLog, count: int, chunk: int = 50_000) -> None:
    """Write ``count`` chained records fast (benchmark set-up, not measured).

    The bodies are those of one narrow decision (appended to a scratch log),
    each record in a stream of its own; the chain and the head are exactly
    what :meth:`EventLog.batch` writes.
    """
    workload = WORKLOADS["narrow"]
    with tempfile.TemporaryDirectory() as tmp, EventLog.open(Path(tmp) / "t.db") as scratch:
        add_decision(scratch, workload, make_variants(workload)[0], 0)
        template = [r.event for r in scratch.read()]
    bodies = [log.mapper.encode_body(e) for e in template]
    prev = GENESIS
    table = log.events_table
    written = 0
    last_id = 0
    while written < count:
        rows = []
        for i in range(written, min(count, written + chunk)):
            s = bodies[i % len(bodies)]
            stream = uuid.UUID(int=i + 1, version=4)
            state, prev = seal(prev, stream, 1, s.topic, s.state)
            rows.append({"originator_id": stream, "originator_version": 1, "topic": s.topic,
                         "state": state})
        with log.engine.begin() as conn:
            if log.location.dialect == "sqlite":
                conn.exec_driver_sql(
                    f"INSERT INTO {table.name} (originator_id, originator_version, topic, "
                    "state) VALUES (?, ?, ?, ?)",
                    [(r["originator_id"].bytes, 1, r["topic"], r["state"]) for r in rows])
            else:
                conn.execute(table.insert(), rows)
            last_id = conn.exec_driver_sql(f"SELECT max(id) FROM {table.name}").scalar()
        written += len(rows)
    with log.engine.begin() as conn:
        m = meta_table.c
        conn.execute(update(meta_table).where(m.key == "head_hash").values(value=prev.hex()))
        conn.execute(update(meta_table).where(m.key == "head_position")
                     .values(value=str(last_id)))


# -- measurements -----------------------------------------------------------------------


def measure_append(url: str, workload: Workload, events: int, durable: bool = True) -> float:
    """Append ``events`` (rounded to whole decisions) to a new log; return events/s."""
    variants = make_variants(workload)
    with EventLog.open(url, durable=durable) as log:
        add_decision(log, workload, variants[0], 0)  # warm-up (connections, caches)
        decisions = max(1, events // workload.events)
        started = time.perf_counter()
        for n in range(1, decisions + 1):
            add_decision(log, workload, variants[n % VARIANTS], n)
        elapsed = time.perf_counter() - started
    return decisions * workload.events / elapsed


def measure_fold(url: str, projection: type[Projection]) -> float:
    with EventLog.open(url, create=False) as log:
        store = ProjectionStore(log)
        started = time.perf_counter()
        folded = store.rebuild(projection(), save=False)
        return folded / (time.perf_counter() - started)


def measure_verify(url: str) -> tuple[float, int]:
    with EventLog.open(url, create=False) as log:
        started = time.perf_counter()
        report = log.verify()
        elapsed = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"verify failed on the benchmark log: {report.problem}")
    return elapsed, report.records


def _median(values: list[float], fmt: str) -> str:
    runs = " / ".join(fmt.format(v) for v in values)
    return f"{fmt.format(statistics.median(values))} (runs {runs})"


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[tuple]:
    rows: list[tuple] = []
    cmd = f"`.venv/bin/python benchmarks/bench_eventlog.py {' '.join(args.argv)}`"
    with backend_urls(backend, workdir) as make_url:
        for name in args.workloads:
            workload = WORKLOADS[name]
            shape = f"{name} batches of {workload.events}"
            last_url = None
            if "append" in args.only:
                for durable in (True, False):
                    rates = []
                    for run in range(args.repeat):
                        last_url = make_url(f"append-{name}-{run}-{durable}")
                        rates.append(measure_append(last_url, workload, args.events, durable))
                    label = f"append, {shape} (events/s)" + ("" if durable
                                                              else ", durable=False")
                    print(f"[{backend}] {label}: {[round(a) for a in rates]}", file=sys.stderr)
                    rows.append((label, backend, ">= 10,000", _median(rates, "{:,.0f}"), cmd))
            if "fold" in args.only:
                if last_url is None:  # fold only: fill one log, untimed
                    last_url = make_url(f"fold-{name}")
                    measure_append(last_url, workload, args.events, durable=False)
                for projection, label, goal in (
                        (LogStats, f"fold LogStats, {name} log (events/s)", ">= 100,000"),
                        (DecodeAll, f"fold, every payload decoded, {name} log (events/s)",
                         "-")):
                    folds = [measure_fold(last_url, projection) for _ in range(args.repeat)]
                    print(f"[{backend}] {label}: {[round(f) for f in folds]}", file=sys.stderr)
                    rows.append((label, backend, goal, _median(folds, "{:,.0f}"), cmd))
        if "verify" in args.only and args.verify_events:
            vurl = make_url("openastro-verify")
            with EventLog.open(vurl) as log:
                started = time.perf_counter()
                bulk_load(log, args.verify_events)
                print(f"[{backend}] bulk load of {args.verify_events:,}: "
                      f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
            times = [measure_verify(vurl)[0] for _ in range(args.repeat)]
            print(f"[{backend}] verify s: {[round(t, 2) for t in times]}", file=sys.stderr)
            rows.append((f"verify {args.verify_events:,} records (s)", backend, "<= 20 s",
                         _median(times, "{:.1f} s"), cmd))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--workload", choices=["decision", "narrow", "both"], default="both")
    parser.add_argument("--only", nargs="+", choices=["append", "fold", "verify"],
                        default=["append", "fold", "verify"])
    parser.add_argument("--events", type=int, default=30_000,
                        help="events appended per append run (default 30,000)")
    parser.add_argument("--verify-events", type=int, default=1_000_000,
                        help="records in the verify log (0: skip; default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--undeclared-streams", action="store_true",
                        help="do not declare each decision's streams new (each new stream "
                             "then costs a version look-up)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where SQLite files go (default: a temporary directory)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = argv
    global NEW_STREAMS
    NEW_STREAMS = not args.undeclared_streams
    args.workloads = ["decision", "narrow"] if args.workload == "both" else [args.workload]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for backend in backends:
            rows += run_backend(backend, args, Path(tmp))
    print("| metric | backend | goal | measured (median) | command |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
