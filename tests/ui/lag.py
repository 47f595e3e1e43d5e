"""UI lag under a burst of events: time from the append to the newest event shown.

``python tests/ui/lag.py [--events 10000] [--batches 1]`` prints the figures;
``test_lag.py`` runs a smaller burst and checks the bound. A burst is written
as realistic decisions (trigger, ~100 candidates, rejections, scores, choice,
assignment: 6 events each) on a log the console already follows; the lag is
measured from the commit of the last batch to the console having drawn the
newest position (status line and Log view: ``lag_ms``), and to every view
having folded it and the process being idle again (the newest decision
drawn: ``all_views_ms``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from logbuilder import START, demo_log
from ui_helpers import caught_up, console

from control_center.eventlog import EventLog, stream_id
from control_center.events import (
    AssignmentChosen,
    CandidatesProposed,
    CandidatesRejected,
    CandidatesScored,
    DecisionTriggered,
    ObservationAssigned,
)
from control_center.events.decision import CANDIDATE_FIELDS, to_columns

N_CANDIDATES = 100
SCOPES = (("cerro-pachon", "pachon-1m"), ("cerro-pachon", "pachon-0.4m"),
          ("la-palma", "palma-1m"))


def write_burst(log: EventLog, n_events: int, batches: int = 1, first: int = 0) -> float:
    """Append about ``n_events`` events in ``batches`` transactions; returns the wall time
    (``time.monotonic``, system-wide) when the last one committed."""
    per_decision = 6
    decisions = max(1, n_events // per_decision)
    per_batch = max(1, decisions // batches)
    candidates = [{"request_id": f"survey:n256:{i}", "target": f"hp256-{i}", "ra_deg": 150.0,
                   "dec_deg": -20.0, "filter": "r", "exposure_s": 60.0, "program": "survey",
                   "kind": "survey", "priority": 3.0, "proposed_by": "survey",
                   "not_before": None, "not_after": None} for i in range(N_CANDIDATES)]
    columns = to_columns(candidates, CANDIDATE_FIELDS)
    keys = [f"{c['request_id']}/r" for c in candidates]
    n = 0
    while n < decisions:
        with log.batch(actor="control-center", sim_time=START) as b:
            for _ in range(min(per_batch, decisions - n)):
                i = first + n
                n += 1
                site, scope = SCOPES[i % len(SCOPES)]
                when = START + timedelta(seconds=30 + i)
                decision = uuid.uuid5(uuid.NAMESPACE_OID, f"lag:{i}")
                t = b.add(DecisionTriggered, stream=decision, sim_time=when, new_stream=True,
                          trigger="observation-ended", site=site, telescope=scope,
                          inputs={"policy": "greedy", "seed": i, "queue_size": 300})
                b.add(CandidatesProposed, stream=decision, sim_time=when, causation=t,
                      candidates=columns)
                b.add(CandidatesRejected, stream=decision, sim_time=when, causation=t,
                      rejections={"candidate": keys[:60], "constraint": ["altitude"] * 60,
                                  "value": [10.0] * 60, "limit": [20.0] * 60,
                                  "plugin": ["constraints"] * 60})
                b.add(CandidatesScored, stream=decision, sim_time=when, causation=t,
                      scorer="value-formula",
                      scores={"candidate": keys[60:], "value": [0.5] * 40,
                              "sigma": [0.1] * 40})
                chosen = b.add(AssignmentChosen, stream=decision, sim_time=when, causation=t,
                               actor="plugin:greedy", policy="greedy",
                               candidate=candidates[i % N_CANDIDATES] | {"key": keys[0]},
                               reason="highest expected value")
                observation = str(uuid.uuid5(decision, "observation"))
                b.add(ObservationAssigned, stream=stream_id("observation", observation),
                      sim_time=when, causation=chosen, new_stream=True,
                      observation_id=observation, request_id=f"survey:n256:{i}", site=site,
                      telescope=scope, target=f"hp256-{i}", ra_deg=150.0, dec_deg=-20.0,
                      filter="r", exposure_s=60.0, expected_start=when,
                      expected_end=when + timedelta(seconds=90), expected_value=0.5)
    return time.monotonic()


async def measure(db: str, n_events: int, batches: int, view: str = "2") -> dict:
    """Burst ``n_events`` into ``db`` from another process (as the control center is)
    while the console follows it; the figures.

    Times are ``time.monotonic()``, which is system-wide: the writer prints the time of
    its last commit, the console's side notes when it has drawn the newest event.
    """
    app = console(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await caught_up(pilot, app)
        await pilot.press(view)
        with EventLog.open(db, create=False) as log:
            last = log.last_position() + 6 * max(1, n_events // 6)
        start = time.monotonic()
        writer = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--write", db, "--events", str(n_events),
            "--batches", str(batches), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)
        while app.snapshot.position < last:
            await asyncio.sleep(0.002)
        await pilot.pause(0)         # the screen processed it: drawn (not: every fold done)
        shown = time.monotonic()
        while not app.snapshot.decisions or app.snapshot.decisions[-1].position < last - 5:
            await asyncio.sleep(0.002)
        await pilot.pause()          # and the newest decision
        complete = time.monotonic()
        committed = float((await writer.stdout.readline()).decode())
        writer.stdin.close()         # the writer stays up (as a control center does) until now
        await writer.wait()
        return {"events": n_events, "batches": batches, "view": view,
                "write_s": round(committed - start, 3),
                "lag_ms": round(1000 * (shown - committed), 1),
                "all_views_ms": round(1000 * (complete - committed), 1),
                "committed_at": committed,
                "decisions_shown": len(app.snapshot.decisions),
                "tail_rows": len(app.snapshot.tail)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="/tmp")
    parser.add_argument("--view", default="2", help="the view shown: 1-5 (default 2)")
    parser.add_argument("--write", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        with EventLog.open(args.write, durable=False) as log:
            print(write_burst(log, args.events, args.batches), flush=True)
            sys.stdin.read()     # stay up, as a control center would, until told to go
        return
    for i in range(args.repeat):
        db = Path(args.dir) / f"openastro-ui-lag-{i}.db"
        db.unlink(missing_ok=True)
        demo_log(db)
        print(asyncio.run(measure(str(db), args.events, args.batches, args.view)), flush=True)
        db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
