"""The policy's physics features and teacher, and imitation of the teacher."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from control_center.network import load_network
from control_center.plugin_api import Conditions, Score
from control_center.plugin_host.testing import candidate, decision_context
from models.scheduler.decision_features import NightSkies, PhysicsView, physics_view
from models.scheduler.features import PHYSICS_FEATURES, physics_matrix
from models.scheduler.physics import SiteSky, expected_values
from models.scheduler.teacher import teacher_index, teacher_objective
from simulator import SimulatedSite
from simulator.horizon import to_seconds

NOW = datetime(2026, 3, 22, 0, 30, tzinfo=UTC)
CLEAR = Conditions(cloud_cover=0.05, humidity=0.3, wind_m_s=4.0, seeing_arcsec=1.0,
                   sky_v_mag_arcsec2=21.3, open=True)


def test_site_sky_gives_the_simulated_sites_expected_values():
    """The policy's physics and the hindsight bound's are one computation."""
    site = load_network().site("la-palma")
    start, end = datetime(2026, 3, 21, 18, tzinfo=UTC), datetime(2026, 3, 22, 6, tzinfo=UTC)
    scope = site.telescopes[0]
    ra, dec = np.array([150.0, 200.0, 10.0]), np.array([20.0, 30.0, -60.0])
    args = (ra, dec, np.array([14.0, np.nan, 12.0]), np.array(["r", "g", "r"], dtype=object),
            np.array([60.0, 120.0, 60.0]), np.array([5.0, 3.0, 9.0]))
    t = to_seconds(NOW)
    ours = expected_values(SiteSky(site, start, end), scope, t, *args, conditions=CLEAR)
    sim = expected_values(SimulatedSite(site, 1, start, end), scope, t, *args,
                          conditions=CLEAR)
    np.testing.assert_allclose(ours, sim, rtol=1e-9)
    assert ours[0] > 0 and ours[2] == 0.0          # dec -60 never rises at La Palma
    closed = expected_values(SiteSky(site, start, end), scope, t, *args,
                             conditions=replace(CLEAR, open=False))
    assert not closed.any()


def _decision(cloud=0.05):
    cands = [replace(candidate("short", ra_deg=150.0, dec_deg=25.0, exposure_s=60.0,
                               priority=5.0), v_mag=19.0),
             replace(candidate("long", ra_deg=152.0, dec_deg=25.0, exposure_s=600.0,
                               priority=5.0), v_mag=19.0),
             candidate("south", ra_deg=150.0, dec_deg=-70.0, exposure_s=60.0, priority=9.0)]
    ctx = decision_context(telescope="palma-1m", now=NOW,
                           conditions=replace(CLEAR, cloud_cover=cloud))
    others = decision_context(telescope="pachon-1m", now=NOW).telescope
    ctx = replace(ctx, telescopes={ctx.telescope.telescope.name: ctx.telescope,
                                   "pachon-1m": others})
    return ctx, cands


def test_physics_view_of_a_decision():
    ctx, cands = _decision()
    view = physics_view(ctx, cands, NightSkies())
    assert view.value[0] > 0 and view.value[1] > 0
    assert view.value[2] == 0.0                     # below La Palma's horizon
    assert view.best_elsewhere[2] > 0               # ... but up from Cerro Pachon
    assert view.duration[1] > view.duration[0] + 500
    rows = physics_matrix(value=view.value, duration_s=view.duration,
                          best_elsewhere=view.best_elsewhere, value_later=view.value_later)
    assert rows.shape == (3, len(PHYSICS_FEATURES)) and rows.dtype == np.float32
    assert rows[:, 0].max() == pytest.approx(1.0) and rows[2, 3] == 0.0


def test_teacher_takes_the_most_value_per_hour_not_per_observation():
    ctx, cands = _decision()
    view = physics_view(ctx, cands, NightSkies())
    keys = [c.key for c in cands]
    scores = [Score(k, 1.0, 0.1) for k in keys]
    assert view.value[1] >= view.value[0]          # the long exposure is worth more...
    assert keys[teacher_index(view, scores, keys)] == "short/r"    # ...but not per hour
    assert keys[teacher_index(view, scores, keys, alpha=0.0)] == "long/r"


def test_teacher_falls_back_to_the_scores_without_physics_value():
    view = PhysicsView(np.zeros(3), np.full(3, 100.0), np.zeros(3), np.zeros(3))
    keys = ["a/r", "b/r", "c/r"]
    scores = [Score("a/r", 1.0, 0.1), Score("b/r", 3.0, 0.1), Score("c/r", 2.0, 0.1)]
    assert teacher_index(view, scores, keys) == 1
    assert teacher_objective(view).max() == 0.0


def test_imitation_learns_the_teachers_rule_on_toy_decisions():
    torch = pytest.importorskip("torch")
    from models.scheduler.imitation import fit_imitation, imitation_accuracy
    from models.scheduler.nightloop import Decisions
    from models.scheduler.policy_model import PolicyNet

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    seqs = []
    for _ in range(8):
        seq = {"cand": [], "ctx": [], "prev": [], "label": []}
        for _ in range(12):
            n = int(rng.integers(3, 9))
            cand = rng.normal(0, 1, (n, 6)).astype(np.float32)
            seq["cand"].append(cand)
            seq["ctx"].append(rng.normal(0, 1, 4).astype(np.float32))
            seq["prev"].append(np.zeros(6, np.float32))
            seq["label"].append(int(np.argmax(cand[:, 0] - cand[:, 1])))
        seqs.append(seq)
    data = Decisions(seqs)
    torch.manual_seed(0)
    net = PolicyNet(6, 4, hidden=16, heads=2, memory=8)
    before = imitation_accuracy(net, data)
    history = fit_imitation(net, data, epochs=40, seed=0, lr=1e-2)
    after = imitation_accuracy(net, data)
    assert history[-1] < history[0]
    assert after > 0.8 > before
