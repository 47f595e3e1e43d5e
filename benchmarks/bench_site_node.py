"""Site-node benchmarks: unary round trip, telemetry rate, and a partition.

Usage::

    .venv/bin/python benchmarks/bench_site_node.py [--calls 2000] [--telemetry 20000]
        [--partition-minutes 10] [--frame 1024] [--json]

Everything runs against a real ``openastro site-node`` process on 127.0.0.1,
over TLS with the site's bearer token (as in production).

- round trip: ``Check``, ``GetStatus`` and ``SubmitObservation`` (a resend of a
  known observation id, so the node only looks it up) unary calls one after
  another, p50 and p99 in milliseconds.
- telemetry: one ``StreamTelemetry`` with ``interval_s = 0``; messages per second
  received by one client.
- partition: the client follows results through a relay; the relay is cut while
  the node observes ``--partition-minutes`` simulated minutes of queued work
  (60 s exposures, frames of ``--frame`` pixels analysed by the edge pipeline);
  after the relay is restored, every result must arrive exactly once and in order.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from datetime import timedelta
from typing import Any

from control_center.sites.client import ResultFollower, SiteNodeClient
from control_center.sites.health import Backoff
from control_center.sites.processes import LocalSiteNodes
from control_center.sites.proxy import LinkCutter
from control_center.sites.testing import clear_start, commands, try_call, wait_for

SITE, SCOPE = "hanle", "hanle-0.7m"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1e3, p99 * 1e3


def round_trips(client: SiteNodeClient, calls: int, start: Any) -> dict[str, tuple[float, float]]:
    (known,) = commands(SITE, SCOPE, 1, start=start, prefix="bench-rtt")
    client.submit(known)
    out = {}
    for name, call in (("Check", client.check), ("GetStatus", client.status),
                       ("SubmitObservation (resend)", lambda: client.submit(known))):
        for _ in range(50):
            call()
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            call()
            samples.append(time.perf_counter() - t0)
        out[name] = _percentiles(samples)
    return out


def telemetry_rate(client: SiteNodeClient, messages: int) -> float:
    list(client.telemetry(interval_s=0, max_messages=100))          # warm up
    t0 = time.perf_counter()
    n = sum(1 for _ in client.telemetry(interval_s=0, max_messages=messages, timeout=600))
    return n / (time.perf_counter() - t0)


def partition(nodes: LocalSiteNodes, minutes: float, start: Any) -> dict[str, Any]:
    direct = nodes.client(SITE)
    relay = LinkCutter(nodes.addresses[SITE]).start()
    client = SiteNodeClient(relay.address, deadline_s=2, **nodes.credentials(SITE))
    received: list[tuple[int, str]] = []
    lock = threading.Lock()

    def persist(result: Any) -> None:
        with lock:
            received.append((result.seq, result.observation_id))

    base = direct.status().last_seq
    follower = ResultFollower(client, persist, after_seq=base,
                              backoff=Backoff(base_s=0.1, max_s=1.0, seed=1)).start()
    n = max(1, int(minutes * 60 // 120))                              # 60 s + ~60 s overhead
    batch = commands(SITE, SCOPE, n, start=start + timedelta(hours=1), prefix="bench-part")
    span = (batch[-1].start - batch[0].start + timedelta(seconds=120)).total_seconds() / 60
    for cmd in batch:
        client.submit(cmd)
    relay.cut()
    t_cut = time.perf_counter()
    for _ in range(3):
        try_call(client.check)
    offline = client.health.state
    wait_for(lambda: direct.status().last_seq >= base + n, timeout=600, what="node to finish")
    during = len(received)
    cut_s = time.perf_counter() - t_cut
    relay.restore()
    t_back = time.perf_counter()
    wait_for(lambda: len(received) >= n, timeout=120, what="delivery")
    catch_up_s = time.perf_counter() - t_back
    time.sleep(0.5)                                                   # any duplicate would show
    follower.stop()
    relay.close()
    seqs = [s for s, _ in received]
    ids = [o for _, o in received]
    ok = (seqs == sorted(set(seqs)) and sorted(ids) == sorted(c.observation_id for c in batch))
    depth = direct.status().outbox_depth
    client.close()
    direct.close()
    return {"observations": n, "simulated_minutes": round(span, 1),
            "state_while_cut": offline, "received_while_cut": during,
            "cut_wall_s": round(cut_s, 2), "catch_up_s": round(catch_up_s, 2),
            "delivered": len(received), "exactly_once_in_order": ok,
            "outbox_depth_after_ack": depth}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--telemetry", type=int, default=20000)
    parser.add_argument("--partition-minutes", type=float, default=10.0)
    parser.add_argument("--frame", type=int, default=1024)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    with LocalSiteNodes([SITE], seed=3, frame_shape=(args.frame, args.frame)) as nodes:
        startup = time.perf_counter() - t0
        with nodes.client(SITE) as client:
            start = clear_start(client, min_clear_h=2.0)
            rtt = round_trips(client, args.calls, start)
            rate = telemetry_rate(client, args.telemetry)
        part = partition(nodes, args.partition_minutes, start)
    figures = {"node_start_s": round(startup, 2),
               "round_trip_ms": {k: {"p50": round(a, 3), "p99": round(b, 3)}
                                 for k, (a, b) in rtt.items()},
               "telemetry_msgs_per_s": round(rate), "partition": part}
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0 if part["exactly_once_in_order"] else 1
    print(f"node start (TLS, until Check answers): {figures['node_start_s']} s\n")
    print("| unary call (TLS + token) | p50 ms | p99 ms |\n|---|---|---|")
    for name, (p50, p99) in rtt.items():
        print(f"| {name} | {p50:.3f} | {p99:.3f} |")
    print(f"\ntelemetry: {rate:,.0f} messages/s (one stream, interval 0)\n")
    print("partition:", json.dumps(part))
    return 0 if part["exactly_once_in_order"] else 1


if __name__ == "__main__":
    sys.exit(main())
