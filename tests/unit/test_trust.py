"""Trust: calibration error, reliability diagram, distribution shift flagged in the log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from test_model_registry_toy import write_toy_catalogue

from control_center.eventlog import EventLog, stream_id
from control_center.events import FrameAnalyzed
from control_center.events.model import ModelPromoted, ModelStale, RetrainingProposed
from control_center.model_registry.registry import ModelRegistry
from control_center.model_registry.shift import ShiftMonitor
from control_center.model_registry.store import ModelStore
from models.trust import (
    expected_calibration_error,
    feature_summary,
    population_stability_index,
    reliability_diagram,
    reliability_table,
    shift_statistic,
    summary_from_measures,
)

T0 = datetime(2026, 3, 1, 22, tzinfo=UTC)


def _calibrated(rng, n, squash=1.0):
    p = rng.uniform(size=n)
    truth = 0.5 + squash * (p - 0.5)
    return p, (rng.uniform(size=n) < truth).astype(int)


def test_ece_is_small_when_calibrated_and_large_when_overconfident():
    rng = np.random.default_rng(1)
    assert expected_calibration_error(*_calibrated(rng, 20000)) < 0.02
    over = expected_calibration_error(*_calibrated(rng, 20000, squash=0.4))
    assert 0.12 < over < 0.18          # |p - (0.5 + 0.4 (p - 0.5))| averages 0.15
    table = reliability_table([0.05, 0.15, 0.95, 0.95], [0, 0, 1, 0])
    assert [r["n"] for r in table] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert table[-1]["observed"] == 0.5
    for bad in (([0.5, 1.2], [0, 1]), ([0.5], [0, 1]), ([0.5], [2]), ([], [])):
        with pytest.raises(ValueError):
            expected_calibration_error(*bad)


def test_reliability_diagram_is_a_png(tmp_path):
    rng = np.random.default_rng(2)
    p, y = _calibrated(rng, 2000, squash=0.5)
    info = reliability_diagram(p, y, tmp_path / "plots" / "rel.png", title="toy")
    data = (tmp_path / "plots" / "rel.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert info["ece"] == expected_calibration_error(p, y) > 0.08


def test_psi_flags_a_shift_and_not_the_same_distribution():
    rng = np.random.default_rng(3)
    summary = feature_summary({"fwhm_arcsec": rng.normal(1.2, 0.3, 5000),
                               "sky_level": rng.lognormal(5, 0.5, 5000)})
    assert summary["n"] == 5000 and len(summary["features"]["sky_level"]["quantiles"]) == 11
    same = [shift_statistic({"fwhm_arcsec": rng.normal(1.2, 0.3, 200)}, summary)["value"]
            for _ in range(50)]
    assert max(same) < 0.25
    moved = shift_statistic({"fwhm_arcsec": rng.normal(1.2, 0.3, 100),
                             "sky_level": rng.lognormal(6, 0.5, 100)}, summary)
    assert moved["feature"] == "sky_level" and moved["value"] > 1.0
    assert population_stability_index([0.0] * 100, summary["features"]["fwhm_arcsec"][
        "quantiles"]) > 2.0
    with pytest.raises(ValueError, match="at least 10"):
        feature_summary({"x": [1.0, 2.0]})


def _frames(log, site, values, start=0):
    with log.batch(actor=f"site:{site}", sim_time=T0) as b:
        for i, fwhm in enumerate(values, start):
            oid = f"{site}-{i}"
            b.add(FrameAnalyzed, stream=stream_id("observation", oid), observation_id=oid,
                  site=site, telescope=f"{site}-t", seq=i, pipeline="edge",
                  sim_time=T0 + timedelta(minutes=i),
                  measures={"fwhm_arcsec": float(fwhm), "sky_level": 100.0}, error="")


def test_a_site_whose_inputs_drift_gets_the_model_flagged_stale(tmp_path):
    rng = np.random.default_rng(4)
    cat = write_toy_catalogue(tmp_path / "pkgs")
    meta_path = cat.get("toy").current.onnx.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["input_summary"] = feature_summary({"fwhm_arcsec": rng.normal(1.2, 0.3, 4000)})
    meta_path.write_text(json.dumps(meta))
    with EventLog.open(tmp_path / "log.db") as log:
        store = ModelStore(tmp_path / "store")
        monitor = ShiftMonitor(log, catalogue=cat, store=store, window=100)
        log.subscribe(monitor.on_recorded)
        _frames(log, "la-palma", rng.normal(1.2, 0.3, 150))
        _frames(log, "hanle", rng.normal(2.0, 0.3, 150))       # bad seeing, unlike training
        stale = [r.event for r in log.read(types=(ModelStale,))]
        assert [(e.site, e.name, e.version, e.feature) for e in stale] == \
            [("hanle", "toy", "v1", "fwhm_arcsec")]
        assert stale[0].statistic == "psi" and stale[0].value > stale[0].threshold == 0.25
        assert stale[0].n == 100
        (proposal,) = [r.event for r in log.read(types=(RetrainingProposed,))]
        assert proposal.sites == ["hanle"] and "PSI" in proposal.reason
        assert proposal.causation_id == stale[0].event_id
        _frames(log, "hanle", rng.normal(2.0, 0.3, 100), start=150)   # flagged once only
        assert len(list(log.read(types=(ModelStale,)))) == 1
        # a new version in force re-arms the check (the new one has no summary: no flag)
        registry = ModelRegistry(log, store, cat)
        assert registry.train("toy", seed=0, quick=True, sim_time=T0).promoted
        assert [type(r.event) for r in log.read(types=(ModelPromoted,))] == [ModelPromoted]
        assert monitor.summaries() == {}
        # a monitor folding the log offline (after the fact) finds the same drift
    with EventLog.open(tmp_path / "log2.db") as log:
        _frames(log, "hanle", rng.normal(2.0, 0.3, 120))
        offline = ShiftMonitor(log, catalogue=cat, window=100)
        assert offline.catch_up() == 120
        assert [r.event.site for r in log.read(types=(ModelStale,))] == ["hanle"]


def test_monitor_refuses_a_tiny_window(tmp_path):
    with EventLog.open(tmp_path / "log.db") as log, pytest.raises(ValueError, match="window"):
        ShiftMonitor(log, window=3)


def test_summary_from_pipeline_results_or_measures():
    from types import SimpleNamespace

    rows = [{"fwhm_arcsec": 1.0 + 0.01 * i, "ellipticity": None} for i in range(20)]
    results = [SimpleNamespace(fwhm_arcsec=1.0 + 0.01 * i, ellipticity=0.1) for i in range(20)]
    a = summary_from_measures(rows, ["fwhm_arcsec"])
    assert a == summary_from_measures(results, ["fwhm_arcsec"])
    assert a["features"]["fwhm_arcsec"]["quantiles"][0] == 1.0 and a["n"] == 20
    with pytest.raises(ValueError, match="'ellipticity': need at least 10"):
        summary_from_measures(rows, ["fwhm_arcsec", "ellipticity"])


def test_models_check_command_records_stale_models(tmp_path, capsys):
    import argparse

    from control_center.cli.models_command import add_models_parser, run_models

    rng = np.random.default_rng(5)
    cat = write_toy_catalogue(tmp_path / "pkgs")
    meta_path = cat.get("toy").current.onnx.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["input_summary"] = feature_summary({"fwhm_arcsec": rng.normal(1.2, 0.3, 4000)})
    meta_path.write_text(json.dumps(meta))
    db = tmp_path / "openastro.db"
    with EventLog.open(db) as log:
        _frames(log, "cerro-pachon", rng.normal(1.2, 0.3, 40))
        _frames(log, "hanle", rng.normal(0.6, 0.1, 40))
    parser = argparse.ArgumentParser()
    add_models_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["models", "check", "--db", str(db), "--window", "40"])
    assert run_models(args, catalogue=cat) == 0
    out = capsys.readouterr().out
    assert "80 events checked against toy; 1 newly stale" in out
    assert "toy v1 stale at hanle: PSI" in out and "on fwhm_arcsec (40 frames)" in out
    assert run_models(args, catalogue=cat) == 0   # the same log again: nothing new
    assert "0 newly stale" in capsys.readouterr().out
    args = parser.parse_args(["models", "check", "--db", str(db), "--window", "2"])
    assert run_models(args, catalogue=cat) == 2
    assert "window must be at least 10" in capsys.readouterr().err
