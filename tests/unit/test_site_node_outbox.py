"""The outbox: order, idempotency, acknowledgement and crash safety."""

import os
import signal
import subprocess
import sys

from site_node.outbox import Outbox


def test_results_are_delivered_in_order_with_increasing_sequences(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    for i in range(5):
        box.submit(f"obs-{i}", b"c")
    seqs = []
    while (item := box.next_command()) is not None:
        seqs.append(box.store_result(item[0], item[0].encode()))
    assert seqs == [1, 2, 3, 4, 5]
    assert [r.observation_id for r in box.pending(2)] == ["obs-2", "obs-3", "obs-4"]
    assert [r.seq for r in box.pending(0, limit=2)] == [1, 2]
    assert box.pending(0, observation_id="obs-3")[0].body == b"obs-3"
    box.close()


def test_a_resubmitted_observation_is_not_queued_or_stored_twice(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    first = box.submit("a", b"1")
    again = box.submit("a", b"2")
    assert first.accepted and not first.duplicate and first.position == 0
    assert again.duplicate and again.state == "queued"
    assert box.queue_length() == 1
    oid, body = box.next_command()
    assert (oid, body) == ("a", b"1") and box.next_command() is None
    assert box.store_result("a", b"r1") == 1
    assert box.store_result("a", b"r2") == 1          # kept as it was
    assert [r.body for r in box.pending(0)] == [b"r1"]
    assert box.submit("a", b"3").state == "done" and box.queue_length() == 0


def test_queue_positions_and_cancellation(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    for oid in "abc":
        box.submit(oid, b"")
    assert box.submit("c", b"").position == 2
    box.next_command()                                 # a runs
    assert box.running() == "a"
    assert box.submit("c", b"").position == 2          # a running, b ahead
    assert box.cancel("b") == ("cancelled", True)
    assert box.cancel("b") == ("cancelled", False)
    assert box.cancel("zzz") == (None, False)
    assert box.submit("c", b"").position == 1
    assert box.next_command()[0] == "c"


def test_ack_prunes_and_never_goes_back(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    for oid in "abcd":
        box.submit(oid, b"")
        box.next_command()
        box.store_result(oid, b"")
    assert box.ack(2) == 2 and box.depth() == 2
    assert box.ack(1) == 2                               # never decreases
    assert box.ack(99) == 4 and box.depth() == 0         # never past the newest
    box.submit("e", b"")
    box.next_command()
    assert box.store_result("e", b"") == 5               # sequences are never reused
    assert box.last_seq() == 5 and box.acked_seq() == 4


def test_reopening_requeues_the_interrupted_command(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    box.submit("a", b"x")
    box.next_command()
    box.close()
    box = Outbox(tmp_path / "o.sqlite")
    assert box.state("a") == "queued" and box.next_command() == ("a", b"x")


_WRITER = """
import os, signal, sys
from site_node.outbox import Outbox
box = Outbox(sys.argv[1])
for i in range(20):
    oid = f"obs-{i:02d}"
    box.submit(oid, b"cmd")
    box.next_command()
    box.store_result(oid, oid.encode())
    print(oid, flush=True)
box.submit("obs-20", b"cmd")
box.next_command()                       # running when the process dies
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_committed_results_survive_sigkill(tmp_path):
    path = tmp_path / "o.sqlite"
    proc = subprocess.run([sys.executable, "-c", _WRITER, str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == -signal.SIGKILL
    printed = proc.stdout.split()
    box = Outbox(path)
    stored = [r.observation_id for r in box.pending(0)]
    assert stored == printed == [f"obs-{i:02d}" for i in range(20)]
    assert [r.seq for r in box.pending(0)] == list(range(1, 21))
    assert box.next_command() == ("obs-20", b"cmd")      # re-executed after the restart
    assert os.path.exists(path)
