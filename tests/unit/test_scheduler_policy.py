"""The shipped policy: ONNX vs its check file, variable candidate sets, memory, goals recorded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from models.scheduler.features import N_CANDIDATE, N_CONTEXT
from models.scheduler.serve import PolicyRunner

HERE = Path(__file__).resolve().parents[2] / "models" / "scheduler"
META = json.loads((HERE / "policy-v1.json").read_text())


@pytest.fixture(scope="module")
def runner():
    return PolicyRunner(HERE / "policy-v1.onnx")


def test_metadata_contract_and_hash():
    assert META["name"] == "policy" and META["version"] == "v1"
    assert META["sha256"] == hashlib.sha256((HERE / "policy-v1.onnx").read_bytes()).hexdigest()
    pm = META["promotion_metric"]
    assert pm["higher_is_better"] is True
    assert pm["value"] == META["metrics"]["held_out"]["ratio_to_greedy"]


def test_check_file_reproduces(runner):
    with np.load(HERE / "policy-v1-check.npz") as z:
        feeds = {k[3:]: z[k] for k in z.files if k.startswith("in_")}
        got = runner.session.run(None, feeds)
        real = feeds["mask"] > 0
        assert got[0][real] == pytest.approx(z["out_logits"][real], abs=1e-5)
        assert got[2] == pytest.approx(z["out_h_out"], abs=1e-5)


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.5, (n, N_CANDIDATE)).astype(np.float32),
            rng.normal(0, 0.5, N_CONTEXT).astype(np.float32))


def test_any_number_of_candidates_and_order_does_not_matter(runner):
    prev, h = runner.initial_state()
    for n in (1, 2, 17, 250):
        cand, ctx = _inputs(n)
        logits, _, h_out = runner.run(cand, ctx, prev, h)
        assert logits.shape == (n,) and np.all(np.isfinite(logits))
        perm = np.random.default_rng(n).permutation(n)
        shuffled, _, h2 = runner.run(cand[perm], ctx, prev, h)
        assert shuffled == pytest.approx(logits[perm], abs=1e-4)
        assert h2 == pytest.approx(h_out, abs=1e-5)


def test_padding_is_ignored(runner):
    cand, ctx = _inputs(6)
    prev, h = runner.initial_state()
    logits, _, _ = runner.run(cand, ctx, prev, h)
    padded = np.concatenate([cand, np.full((4, N_CANDIDATE), 3.0, np.float32)])[None]
    mask = np.array([[1] * 6 + [0] * 4], np.float32)
    out = runner.session.run(None, {"cand": padded, "mask": mask, "ctx": ctx[None],
                                    "prev": prev[None], "h": h[None]})
    assert out[0][0, :6] == pytest.approx(logits, abs=1e-4)
    assert np.all(out[0][0, 6:] < -1e8)


def test_memory_carries_the_previous_decisions(runner):
    cand, ctx = _inputs(8)
    prev, h = runner.initial_state()
    _, _, h1 = runner.run(cand, ctx, prev, h)
    a, _, _ = runner.run(cand, ctx, cand[0], h1)
    b, _, _ = runner.run(cand, ctx, prev, h)
    assert not np.allclose(a, b)


def test_recorded_evaluation_on_held_out_nights():
    m = META["metrics"]
    assert m["held_out"]["nights"] >= 4
    assert m["held_out"]["ratio_to_greedy"] >= 0.97           # at least about greedy
    loss = m["site_loss"]
    assert loss["observations_after_loss"] > 0                 # replans at the other sites
    assert loss["observations_at_lost_site_after_loss"] == 0


def test_policy_replans_when_a_site_is_lost_mid_night(runner):
    from datetime import UTC, datetime

    from models.scheduler.env import EnvConfig, SchedulingEnv
    from models.scheduler.rollout import play

    env = SchedulingEnv(EnvConfig(starts=(datetime(2026, 2, 14, 22, tzinfo=UTC),), hours=3.0,
                                  n_science=40, n_survey=20))
    night = play(env, runner, seed=11, options={"lose_site": "hanle", "lose_at_h": 1.0})
    after = night["after_loss"]
    assert after, "nothing was observed after the loss"
    assert {r["site"] for r in after} <= {"cerro-pachon", "la-palma"}
    assert night["per_site"].get("hanle", 0) > 0       # it did work there before the loss
