"""The shipped policy-v2: metadata contract, ONNX check, and what the plugin does with it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import onnxruntime as ort
import pytest

from control_center.plugin_api import Conditions, Score, Settings
from control_center.plugin_host.testing import candidate, decision_context
from models.scheduler.decision_features import NightSkies, physics_view
from models.scheduler.features import N_POLICY, POLICY_FEATURES
from models.scheduler.serve import DEFAULT_POLICY, HERE, PolicyRunner
from models.scheduler.teacher import teacher_index
from plugins.learned_policy import NAME, LearnedPolicy

ONNX = HERE / "policy-v2.onnx"
META = json.loads(ONNX.with_suffix(".json").read_text())
NOW = datetime(2026, 3, 22, 0, 30, tzinfo=UTC)
CLEAR = Conditions(cloud_cover=0.05, humidity=0.3, wind_m_s=4.0, seeing_arcsec=1.0,
                   sky_v_mag_arcsec2=21.3, open=True)


def test_metadata_follows_the_contract_and_is_the_default():
    assert META["sha256"] == hashlib.sha256(ONNX.read_bytes()).hexdigest()
    assert META["name"] == "policy" and META["version"] == "v2"
    assert META["candidate_features"] == list(POLICY_FEATURES)
    pm = META["promotion_metric"]
    assert pm["higher_is_better"] is True
    assert pm["value"] == META["metrics"]["held_out"]["ratio_to_greedy"]
    assert DEFAULT_POLICY == ONNX
    assert PolicyRunner().n_cand == N_POLICY


def test_onnx_reproduces_its_check_file():
    with np.load(HERE / "policy-v2-check.npz") as z:
        session = ort.InferenceSession(str(ONNX), providers=["CPUExecutionProvider"])
        feeds = {k[3:]: z[k] for k in z.files if k.startswith("in_")}
        logits, _, h_out = session.run(None, feeds)
        np.testing.assert_allclose(logits, z["out_logits"], atol=1e-5)
        np.testing.assert_allclose(h_out, z["out_h_out"], atol=1e-5)


def _decisions(n):
    rng = np.random.default_rng(3)
    for k in range(n):
        cands = [replace(candidate(f"t{k}-{i}", ra_deg=float(rng.uniform(100, 220)),
                                   dec_deg=float(rng.uniform(-20, 60)),
                                   exposure_s=float(rng.choice([30, 60, 120, 300, 600])),
                                   priority=float(rng.integers(1, 10))),
                         v_mag=float(rng.uniform(12, 19))) for i in range(12)]
        ctx = decision_context(telescope="palma-1m", now=NOW,
                               conditions=replace(CLEAR, cloud_cover=float(rng.uniform(0, .5))),
                               settings=Settings(policy=NAME, scorer="value-formula"))
        scores = [Score(c.key, c.priority * 0.5, 0.1) for c in cands]
        yield ctx, cands, scores


def test_the_plugin_mostly_takes_the_teachers_choice():
    """Trained to imitate the physics look-ahead: it agrees with it on most decisions
    (the scores here are uninformative: priority only)."""
    plugin = LearnedPolicy()
    agree = total = 0
    for ctx, cands, scores in _decisions(15):
        choice = plugin.openastro_choose(ctx, cands, scores)
        view = physics_view(ctx, cands, NightSkies())
        keys = [c.key for c in cands]
        agree += choice.candidate == keys[teacher_index(view, scores, keys)]
        total += 1
        plugin.states.clear()
    assert agree / total >= 0.6


@pytest.mark.parametrize("cloud", [0.0, 0.6])
def test_never_takes_a_candidate_the_physics_says_is_worthless(cloud):
    """A high-priority target below La Palma's horizon is not chosen over ones that are up."""
    cands = [candidate("south", ra_deg=150.0, dec_deg=-75.0, priority=10.0),
             replace(candidate("up", ra_deg=150.0, dec_deg=25.0, priority=3.0), v_mag=14.0)]
    ctx = decision_context(telescope="palma-1m", now=NOW,
                           conditions=replace(CLEAR, cloud_cover=cloud),
                           settings=Settings(policy=NAME, scorer="value-formula"))
    choice = LearnedPolicy().openastro_choose(ctx, cands, [Score(c.key, c.priority, 0.1)
                                                          for c in cands])
    assert choice.candidate == "up/r"
