"""Crashes and partitions: every buffered result is delivered exactly once, in order."""

import threading

import pytest

from control_center.sites.client import Heartbeat, ResultFollower
from control_center.sites.health import Backoff
from control_center.sites.processes import LocalSiteNodes
from control_center.sites.proxy import LinkCutter
from control_center.sites.testing import clear_start, commands, try_call, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SITE, SCOPE = "hanle", "hanle-0.7m"


class Received:
    """What a control center persisted: (seq, observation id) in arrival order."""

    def __init__(self):
        self.items: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def __call__(self, result):
        with self.lock:
            self.items.append((result.seq, result.observation_id))

    def ids(self):
        with self.lock:
            return [oid for _, oid in self.items]

    def assert_exactly_once_in_order(self, expected_ids):
        seqs = [s for s, _ in self.items]
        assert seqs == sorted(set(seqs)), "out of order or duplicated"
        assert sorted(self.ids()) == sorted(expected_ids)
        assert len(self.ids()) == len(set(self.ids()))


@pytest.fixture
def nodes(tmp_path):
    with LocalSiteNodes([SITE], seed=3, workdir=tmp_path, frame_shape=(512, 512)) as running:
        yield running


def test_sigkill_mid_run_then_restart_delivers_buffered_results_once(nodes):
    changes = []
    client = nodes.client(SITE, deadline_s=3,
                          on_health_change=lambda old, new, why: changes.append(new))
    start = clear_start(client)
    batch = commands(SITE, SCOPE, 12, start=start, prefix="crash")
    for cmd in batch:
        assert client.submit(cmd).accepted
    wait_for(lambda: client.status().last_seq >= 2, what="two results")
    heartbeat = Heartbeat(client, interval_s=0.1).start()
    nodes.kill(SITE)                                     # SIGKILL mid-run
    wait_for(lambda: client.health.state == "offline", timeout=10, what="offline")
    nodes.restart(SITE)
    wait_for(lambda: client.health.state == "online", timeout=10, what="online again")
    heartbeat.stop()
    got = Received()
    follower = ResultFollower(client, got, backoff=Backoff(base_s=0.05, max_s=0.5)).start()
    try:
        # The restarted node finishes its durable queue; nothing is resubmitted.
        wait_for(lambda: len(got.ids()) >= len(batch), timeout=60, what="every result")
        for cmd in batch:                                 # resending changes nothing
            assert client.submit(cmd).duplicate
    finally:
        follower.stop()
    got.assert_exactly_once_in_order([c.observation_id for c in batch])
    assert changes[:2] == ["online", "degraded"] and "offline" in changes
    assert changes[-1] == "online"
    assert client.status().outbox_depth == 0             # acknowledged, pruned
    client.close()


def test_a_partition_loses_nothing_and_duplicates_nothing(nodes):
    direct = nodes.client(SITE)
    start = clear_start(direct)
    relay = LinkCutter(nodes.addresses[SITE]).start()
    client = nodes.client(SITE, deadline_s=2)
    client_via = type(client)(relay.address, deadline_s=2, **nodes.credentials(SITE))
    client.close()
    got = Received()
    follower = ResultFollower(client_via, got, backoff=Backoff(base_s=0.05, max_s=0.3)).start()
    try:
        first = commands(SITE, SCOPE, 3, start=start, prefix="before")
        for cmd in first:
            client_via.submit(cmd)
        wait_for(lambda: len(got.ids()) == 3, what="results before the cut")
        later = commands(SITE, SCOPE, 10, start=first[-1].start + (first[1].start -
                                                                  first[0].start),
                         prefix="during")
        for cmd in later:                                # queued, then the link drops
            client_via.submit(cmd)
        relay.cut()
        for _ in range(3):
            try_call(client_via.check)
        assert client_via.health.state == "offline"
        # The node keeps observing while cut off.
        wait_for(lambda: direct.status().last_seq >= 13, timeout=60, what="node to finish")
        assert len(got.ids()) < 13
        relay.restore()
        wait_for(lambda: len(got.ids()) == 13, timeout=30, what="delivery after reconnect")
        assert follower.reconnects >= 1
    finally:
        follower.stop()
        relay.close()
    got.assert_exactly_once_in_order([c.observation_id for c in first + later])
    wait_for(lambda: direct.status().outbox_depth == 0, what="acknowledgement")
    client_via.close()
    direct.close()


def test_sigterm_shuts_down_cleanly(nodes):
    assert nodes.terminate(SITE) == 0
    assert not (nodes.nodes[SITE].data_dir / "site-node.json").exists()
