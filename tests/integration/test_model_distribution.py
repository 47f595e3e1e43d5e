"""Promoted models reach a real site-node process over gRPC (TLS, token), also after an outage."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from control_center.eventlog import EventLog, stream_id
from control_center.events import SiteHealthChanged
from control_center.events.model import ModelDeployed
from control_center.model_registry.registry import ModelRegistry
from control_center.model_registry.services import ModelServices
from control_center.model_registry.store import ModelStore
from control_center.sites.processes import LocalSiteNodes
from models.catalogue import Catalogue

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SITE = "hanle"
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "anomaly" / "anomaly-v1.onnx"
T0 = datetime(2026, 3, 21, 18, tzinfo=UTC)


def _variant(tag: str) -> bytes:
    """The shipped anomaly model with one more metadata entry: other bytes, same weights."""
    import onnx

    proto = onnx.load_from_string(SHIPPED.read_bytes())
    entry = proto.metadata_props.add()
    entry.key, entry.value = "registry_test", tag
    return proto.SerializeToString()


def _catalogue(root: Path) -> Catalogue:
    """A catalogue whose 'anomaly' ships the real v1 with registry metadata."""
    import hashlib

    pkg = root / "anomaly"
    pkg.mkdir(parents=True)
    (pkg / "train.py").write_text("def main(argv=None):\n    return 2\n")
    shutil.copy(SHIPPED, pkg / "anomaly-v1.onnx")
    meta = {"name": "anomaly", "version": "v1", "metrics": {},
            "sha256": hashlib.sha256(SHIPPED.read_bytes()).hexdigest(),
            "promotion_metric": {"name": "auroc", "value": 0.779, "higher_is_better": True}}
    (pkg / "anomaly-v1.json").write_text(json.dumps(meta))
    return Catalogue(root, "unused")


def _promote(registry: ModelRegistry, tag: str, auroc: float):
    sha, files = registry.store.put(_variant(tag))
    meta = {"metrics": {"auroc": auroc},
            "promotion_metric": {"name": "auroc", "value": auroc, "higher_is_better": True}}
    outcome = registry.record("anomaly", sha, meta, {"source": "test"}, files=files,
                              sim_time=T0)
    assert outcome.promoted, outcome.reason
    return outcome


def _wait(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _deployments(log):
    return [r.event for r in log.read(types=(ModelDeployed,))]


def test_promoted_model_reaches_the_node_and_a_returning_node_catches_up(tmp_path):
    if not SHIPPED.is_file():
        pytest.skip("no shipped anomaly model")
    cat = _catalogue(tmp_path / "cat")
    with LocalSiteNodes([SITE], seed=3, workdir=tmp_path / "nodes", frame_shape=(64, 64),
                        render=False) as nodes, \
            EventLog.open(tmp_path / "openastro.db") as log, \
            nodes.client(SITE, deadline_s=5) as client:
        registry = ModelRegistry(log, ModelStore(tmp_path / "store"), cat)
        services = ModelServices(log, {SITE: client}, store=registry.store, catalogue=cat,
                                 retry_s=0.5).start()
        try:
            v2 = _promote(registry, "v2", 0.90)
            (done,) = _wait(lambda: _deployments(log))
            assert (done.site, done.version, done.sha256, done.ok) == (SITE, "v2", v2.sha256,
                                                                       True)
            models = {m.name: m for m in client.status().models}
            assert models["anomaly"].version == "v2" and models["anomaly"].sha256 == v2.sha256

            # the node goes down; the next promotion cannot reach it
            nodes.terminate(SITE)
            v3 = _promote(registry, "v3", 0.95)
            failed = _wait(lambda: [d for d in _deployments(log) if d.version == "v3"])
            assert not failed[0].ok and failed[0].message
            time.sleep(1.5)      # retries of the same failure are not recorded again
            assert len([d for d in _deployments(log) if d.version == "v3"]) == 1

            # it comes back (same address, same data): the link reports it online
            nodes.restart(SITE)
            with log.batch(actor="control-center", sim_time=T0) as b:
                b.add(SiteHealthChanged, stream=stream_id("site", SITE), site=SITE,
                      state="online", previous="offline", reason="answering",
                      address=nodes.addresses[SITE])
            ok = _wait(lambda: [d for d in _deployments(log) if d.version == "v3" and d.ok])
            assert ok[0].sha256 == v3.sha256
            models = {m.name: m for m in client.status().models}
            assert models["anomaly"].version == "v3" and models["anomaly"].sha256 == v3.sha256
        finally:
            services.close()
        state = registry.state()
        assert state.models["anomaly"]["deployments"][SITE]["version"] == "v3"
        assert services.distributor.pending() == []
