"""Event-log benchmarks: append, fold (projection rebuild) and verify throughput.

Usage::

    .venv/bin/python benchmarks/bench_eventlog.py [--backend sqlite|postgres|both]
        [--events N] [--verify-events 1000000] [--repeat 3]

- append: decisions of 20 events each (a trigger with its inputs, proposed,
  rejected and scored candidates, the choice, the assignment, and site
  telemetry summaries), one ``log.batch`` per decision, as the decision loop
  writes them. Goal >= 10,000 events/s.
- fold: ``LogStats`` rebuilt from position 0 over the appended events (goal
  >= 100,000 events/s); also a projection that decodes every event.
- verify: ``log.verify()`` over a log of ``--verify-events`` records (bulk
  loaded with the same chain, outside the measurement). Goal 1,000,000 in
  <= 20 s.

PostgreSQL runs on a throwaway local cluster started here (with its default
durability settings: fsync on), like the SQLite file (synchronous=FULL).
Medians of ``--repeat`` runs are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from control_center.eventlog import EventLog, LogEvent, stream_id
from control_center.eventlog.chain import GENESIS, seal
from control_center.eventlog.schema import meta_table
from control_center.projections import LogStats, Projection, ProjectionStore

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)
SITES = ("la-palma", "siding-spring", "paranal")
BATCH = 20


# Benchmark-local event types shaped like the catalogue's decision events (the catalogue
# evolves; the benchmark must keep running).
class BenchDecisionTriggered(LogEvent):
    trigger: str
    site: str
    telescope: str
    inputs: dict


class BenchCandidatesProposed(LogEvent):
    candidates: list


class BenchCandidatesRejected(LogEvent):
    rejections: list


class BenchCandidatesScored(LogEvent):
    scorer: str
    scores: list


class BenchAssignmentChosen(LogEvent):
    policy: str
    candidate: dict
    reason: str


class BenchSiteConditions(LogEvent):
    site: str
    cloud_cover: float
    humidity: float
    wind_m_s: float
    seeing_arcsec: float
    sky_v_mag_arcsec2: float
    open: bool
    reason: str


def _candidate(i: int) -> dict[str, Any]:
    return {"key": f"req-{i:04d}:r", "request_id": f"req-{i:04d}", "target": f"NGC {1000 + i}",
            "ra_deg": 10.5 + i, "dec_deg": -20.25 + i / 3, "filter": "r", "exposure_s": 120.0,
            "priority": 0.5 + i / 100, "proposed_by": "queue"}


CANDIDATES = [_candidate(i) for i in range(6)]
REJECTIONS = [{"candidate": c["key"], "constraint": "airmass", "value": 2.31, "limit": 2.0,
               "plugin": "constraints"} for c in CANDIDATES[:4]]


def add_decision(log: EventLog, n: int) -> None:
    """One decision: 6 decision events and 14 site telemetry summaries (20 events)."""
    decision = uuid.UUID(int=n + 1, version=4)
    now = T0 + timedelta(seconds=30 * n)
    with log.batch(actor="control-center", sim_time=now, correlation_id=decision) as b:
        trig = b.add(BenchDecisionTriggered, stream=decision, trigger="observation-ended",
                     site="la-palma", telescope="t1",
                     inputs={"seed": n, "conditions": {s: {"cloud": 0.12, "seeing": 1.1,
                                                           "open": True} for s in SITES},
                             "pointing": [123.4, -20.5], "filter": "r", "overrides": []})
        prop = b.add(BenchCandidatesProposed, stream=decision, causation=trig,
                     candidates=CANDIDATES)
        rej = b.add(BenchCandidatesRejected, stream=decision, causation=prop,
                    rejections=REJECTIONS)
        scored = b.add(BenchCandidatesScored, stream=decision, causation=rej, scorer="value",
                       scores=[{"candidate": c["key"], "value": 0.42, "sigma": 0.05}
                               for c in CANDIDATES[4:]])
        choice = b.add(BenchAssignmentChosen, stream=decision, causation=scored,
                       actor="plugin:greedy", policy="greedy", candidate=CANDIDATES[4],
                       reason="highest value per hour")
        for k in range(BATCH - 6):
            site = SITES[k % 3]
            b.add(BenchSiteConditions, stream=stream_id("site", site), causation=choice,
                  actor=f"site:{site}", site=site, cloud_cover=0.12, humidity=0.61,
                  wind_m_s=4.2, seeing_arcsec=1.08, sky_v_mag_arcsec2=21.3, open=True,
                  reason="")
        b.add(BenchCandidatesScored, stream=decision, causation=choice, scorer="check",
              scores=[])


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

    The bodies are those of one real decision (appended to a scratch log), each
    record in a stream of its own; the chain and the head are exactly what
    :meth:`EventLog.batch` writes.
    """
    with tempfile.TemporaryDirectory() as tmp, EventLog.open(Path(tmp) / "t.db") as scratch:
        add_decision(scratch, 0)
        template = [r.event for r in scratch.read()]
    bodies = [log.mapper.encode_body(e) for e in template]
    prev = GENESIS
    table = log.events_table
    written = 0
    last_id = 0
    while written < count:
        rows = []
        for i in range(written, min(count, written + chunk)):
            s = bodies[i % BATCH]
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


def measure_append(make_url: Callable[[str], str], events: int, run: str,
                   durable: bool = True) -> float:
    with EventLog.open(make_url(f"append-{run}"), durable=durable) as log:
        add_decision(log, 0)  # warm-up (connections, statement caches)
        decisions = max(1, events // BATCH)
        started = time.perf_counter()
        for n in range(1, decisions + 1):
            add_decision(log, n)
        elapsed = time.perf_counter() - started
    return decisions * BATCH / elapsed


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


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[tuple]:
    rows: list[tuple] = []
    cmd = (f"`.venv/bin/python benchmarks/bench_eventlog.py --backend {backend} "
           f"--events {args.events} --verify-events {args.verify_events}`")
    with backend_urls(backend, workdir) as make_url:
        for durable in (True, False):
            append = [measure_append(make_url, args.events, f"{run}-{durable}", durable)
                      for run in range(args.repeat)]
            label = "append, batches of 20 (events/s)" + ("" if durable else
                                                          ", durable=False")
            print(f"[{backend}] {label}: {[round(a) for a in append]}", file=sys.stderr)
            rows.append((label, backend, ">= 10,000", f"{statistics.median(append):,.0f}",
                         cmd))
        url = make_url(f"append-{args.repeat - 1}-True")
        for projection, label, goal in ((LogStats, "fold LogStats (events/s)", ">= 100,000"),
                                        (DecodeAll, "fold, every payload decoded (events/s)",
                                         "-")):
            folds = [measure_fold(url, projection) for _ in range(args.repeat)]
            print(f"[{backend}] {label}: {[round(f) for f in folds]}", file=sys.stderr)
            rows.append((label, backend, goal, f"{statistics.median(folds):,.0f}", cmd))
        if args.verify_events:
            vurl = make_url("openastro-verify")
            with EventLog.open(vurl) as log:
                started = time.perf_counter()
                bulk_load(log, args.verify_events)
                print(f"[{backend}] bulk load of {args.verify_events:,}: "
                      f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
            times = [measure_verify(vurl)[0] for _ in range(args.repeat)]
            print(f"[{backend}] verify s: {[round(t, 2) for t in times]}", file=sys.stderr)
            rows.append((f"verify {args.verify_events:,} records (s)", backend, "<= 20 s",
                         f"{statistics.median(times):.1f} s", cmd))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--events", type=int, default=50_000,
                        help="events appended per append run (default 50,000)")
    parser.add_argument("--verify-events", type=int, default=1_000_000,
                        help="records in the verify log (0: skip; default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where SQLite files go (default: a temporary directory)")
    args = parser.parse_args(argv)
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
