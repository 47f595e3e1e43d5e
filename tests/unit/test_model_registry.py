"""The model registry: catalogue, train -> record -> promote only if better, CLI handlers."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

import pytest
from test_model_registry_toy import write_toy_catalogue

from control_center.cli.models_command import add_models_parser, run_models
from control_center.cli.train_command import add_train_parser, run_train
from control_center.eventlog import EventLog
from control_center.events.model import ModelPromoted, ModelRejected, ModelTrained
from control_center.model_registry.projection import ModelsInForce
from control_center.model_registry.registry import ModelRegistry, beats
from control_center.model_registry.store import ModelStore, StoreError, default_store_dir
from control_center.projections.base import ProjectionStore
from models.catalogue import Catalogue, CatalogueError

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def toy(tmp_path):
    return write_toy_catalogue(tmp_path / "pkgs")


def _parse(adder, argv):
    parser = argparse.ArgumentParser()
    adder(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_catalogue_finds_models_and_names_broken_metadata(tmp_path, toy):
    entry = toy.get("toy")
    assert entry.train_entry == "toy_models.toy.train:main"
    assert [s.version for s in entry.shipped] == ["v1"] and entry.higher_is_better() is False
    assert entry.runs_at == "site-node" and entry.log_dataset() == "frames"
    with pytest.raises(CatalogueError, match="unknown model 'nope'; known: toy"):
        toy.get("nope")
    meta = entry.current.onnx.with_suffix(".json")
    data = json.loads(meta.read_text())
    meta.write_text(json.dumps({k: v for k, v in data.items() if k != "promotion_metric"}))
    with pytest.raises(CatalogueError, match="toy-v1.json: metadata lacks promotion_metric"):
        toy.get("toy")
    meta.write_text(json.dumps({**data, "sha256": "0" * 64}))
    with pytest.raises(CatalogueError, match="sha256 000000000000... does not match toy-v1.onnx"):
        toy.get("toy")
    assert "anomaly" in Catalogue().names() and "fusion" in Catalogue().names()


def test_beats_respects_direction_and_refuses_other_metrics():
    low = {"name": "mse", "value": 1.0, "higher_is_better": False}
    assert beats({**low, "value": 0.5}, low)[0]
    ok, why = beats({**low, "value": 2.0}, low)
    assert not ok and why == "mse 2 does not beat 1 (lower is better)"
    assert beats({"name": "auroc", "value": 0.9, "higher_is_better": True},
                 {"name": "auroc", "value": 0.8, "higher_is_better": True})[0]
    assert not beats({"name": "auroc", "value": 0.9, "higher_is_better": True}, low)[0]
    assert beats(low, None) == (True, "mse 1; no version in force")


def test_train_promotes_only_a_better_version(tmp_path, toy):
    store = ModelStore(tmp_path / "store")
    with EventLog.open(tmp_path / "log.db") as log:
        registry = ModelRegistry(log, store, toy)
        first = registry.train("toy", seed=1, quick=True, sim_time=T0)
        # the shipped v1 (mse 10) is the incumbent; the fit beats it
        assert first.version == "v2" and first.promoted
        assert first.previous.source == "shipped" and first.previous.version == "v1"
        assert store.onnx(first.sha256)[:4] and store.has(first.sha256)
        same = registry.train("toy", seed=1, quick=True, sim_time=T0)
        assert same.version == "v3" and not same.promoted and "identical to v2" in same.reason
        worse = registry.train("toy", seed=1, quick=True, extra_args=["--noise", "3"],
                               sim_time=T0)
        assert not worse.promoted and worse.metric["value"] > first.metric["value"]
        assert "does not beat" in worse.reason and "(v2, in force)" in worse.reason
        kinds = [type(r.event) for r in log.read()]
        assert kinds == [ModelTrained, ModelPromoted, ModelTrained, ModelRejected,
                         ModelTrained, ModelRejected]
        trained = next(log.read()).event
        assert trained.training_data == {"source": "simulator", "seed": 1, "quick": True}
        assert trained.metrics["mse"] == pytest.approx(first.metric["value"])
        assert set(trained.files) == {"model.onnx", "toy-v1.json", "toy-v1-check.npz"}
        state = registry.state()
        assert state.in_force("toy")["version"] == "v2"
        assert {v: e["status"] for v, e in state.models["toy"]["versions"].items()} == \
            {"v2": "promoted", "v3": "rejected", "v4": "rejected"}
        # the projection saved and reloaded equals the fold
        store_p = ProjectionStore(log)
        store_p.catch_up(ModelsInForce())
        reloaded = ModelsInForce()
        assert store_p.load(reloaded) and reloaded.to_state() == state.to_state()


def test_a_failing_training_run_records_nothing(tmp_path, toy):
    with EventLog.open(tmp_path / "log.db") as log:
        registry = ModelRegistry(log, ModelStore(tmp_path / "store"), toy)
        with pytest.raises(Exception, match="training toy failed"):
            registry.train("toy", extra_args=["--noise", "not-a-number"], sim_time=T0)
        assert log.last_position() == 0
        assert not list((tmp_path / "store" / "staging").iterdir())


def test_train_and_models_commands(tmp_path, toy, capsys):
    db = str(tmp_path / "openastro.db")
    args = _parse(add_train_parser, ["train", "toy", "--db", db, "--seed", "2", "--quick",
                                     "--observer", "ann"])
    assert run_train(args, catalogue=toy) == 0
    out = capsys.readouterr().out
    assert "| mse |" in out   # the train entry point prints its metric table
    assert out.splitlines()[-1].startswith("toy v2 (") and "promoted: mse" in out
    assert "beats 10 (lower is better) (v1, in force)" in out
    assert (tmp_path / "models" / "objects").is_dir()   # default store: next to the log
    with EventLog.open(db) as log:
        assert {r.event.actor for r in log.read()} == {"observer:ann"}
    args = _parse(add_models_parser, ["models", "show", "toy", "--db", db])
    assert run_models(args, catalogue=toy) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "toy: in force v2 (promoted)"
    assert " * v2    promoted" in out and "   v1    shipped" in out
    args = _parse(add_models_parser, ["models", "list", "--db", db, "--json"])
    assert run_models(args, catalogue=toy) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in listed["toy"]["versions"] if r["in_force"]] == ["v2"]


@pytest.mark.parametrize("argv, message", [
    (["train", "nope"], "unknown model 'nope'"),
    (["train", "toy", "--from-log"], "no analysed frame"),
])
def test_train_command_bad_input(tmp_path, toy, capsys, argv, message):
    args = _parse(add_train_parser, [*argv, "--db", str(tmp_path / "x.db"), "--quick"])
    assert run_train(args, catalogue=toy) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_models_command_bad_input(tmp_path, toy, capsys):
    args = _parse(add_models_parser, ["models", "show", "toy", "--db", str(tmp_path / "no.db")])
    assert run_models(args, catalogue=toy) == 2
    assert "no.db" in capsys.readouterr().err
    with EventLog.open(tmp_path / "empty.db"):
        pass
    args = _parse(add_models_parser, ["models", "show", "zzz", "--db",
                                      str(tmp_path / "empty.db")])
    assert run_models(args, catalogue=toy) == 2
    assert "unknown model 'zzz'" in capsys.readouterr().err


def test_store_checks_hashes_and_needs_a_directory_for_a_server_log(tmp_path):
    store = ModelStore(tmp_path)
    sha, files = store.put(b"model bytes", {"m.json": b"{}"})
    assert store.onnx(sha) == b"model bytes" and set(files) == {"model.onnx", "m.json"}
    store.path(sha).write_bytes(b"tampered")
    with pytest.raises(StoreError, match="do not match their hash"):
        store.onnx(sha)
    with pytest.raises(StoreError, match="not in the store"):
        store.onnx("a" * 64)
    with pytest.raises(StoreError, match="give --models-dir"):
        default_store_dir("postgresql://u:p@localhost/x")


class _FakeNode:
    """Stands in for a SiteNodeClient: refuses while ``down``, checks the hash like a node."""

    def __init__(self):
        self.down, self.received = False, []

    def deploy_model(self, name, version, onnx, *, sha256):
        import hashlib
        from types import SimpleNamespace

        if self.down:
            raise ConnectionError("node unreachable")
        assert hashlib.sha256(onnx).hexdigest() == sha256
        self.received.append((name, version))
        return SimpleNamespace(deployed=True, message=f"{name} {version} in service",
                               model=SimpleNamespace(sha256=sha256))


def test_distributor_deploys_the_version_in_force_and_retries_offline_sites(tmp_path, toy):
    from control_center.events.model import ModelDeployed
    from control_center.model_registry.distribution import ModelDistributor

    a, b = _FakeNode(), _FakeNode()
    b.down = True
    with EventLog.open(tmp_path / "log.db") as log:
        registry = ModelRegistry(log, ModelStore(tmp_path / "store"), toy)
        distributor = ModelDistributor(log, registry.store, {"a": a, "b": b}, catalogue=toy)
        assert distributor.pending() == []          # shipped version: nothing to push
        v2 = registry.train("toy", seed=1, quick=True, sim_time=T0)
        first = distributor.sync()
        assert [(e.site, e.ok) for e in first] == [("a", True), ("b", False)]
        assert "ConnectionError: node unreachable" in first[1].message
        assert distributor.sync() == []             # same failure: not recorded again
        assert a.received == [("toy", "v2")]
        b.down = False
        assert [(e.site, e.version, e.ok) for e in distributor.sync()] == [("b", "v2", True)]
        assert distributor.sync() == [] and b.received == [("toy", "v2")]
        deployed = [r.event for r in log.read(types=(ModelDeployed,))]
        assert {e.sha256 for e in deployed} == {v2.sha256}
    # a model served in the control center is never pushed
    toy_cc = write_toy_catalogue(tmp_path / "cc", runs_at="control-center", package="toy_cc")
    with EventLog.open(tmp_path / "log2.db") as log:
        registry = ModelRegistry(log, ModelStore(tmp_path / "store2"), toy_cc)
        registry.train("toy", seed=1, quick=True, sim_time=T0)
        assert ModelDistributor(log, registry.store, {"a": a},
                                catalogue=toy_cc).sync() == []
