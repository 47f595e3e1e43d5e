"""``openastro dataset frames``: real FITS files, labelled anomalies, a manifest, seeded."""

from __future__ import annotations

import argparse
import csv

import numpy as np
import pytest
from astropy.io import fits

from control_center.cli.dataset_command import add_dataset_parser, run_dataset
from control_center.network import load_network
from models.datasets.sim_frames import export_frames, frame_plan


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_dataset_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["dataset", "frames", *argv])


def test_frames_with_labelled_anomalies_and_manifest(tmp_path, capsys):
    out = tmp_path / "frames"
    assert run_dataset(_args("--site", "hanle", "--n", "2", "--seed", "5", "--out", str(out),
                             "--anomalies", "0.5", "--kinds", "satellite", "--size",
                             "64")) == 0
    assert "2 frames (1 with an anomaly)" in capsys.readouterr().out
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == [f"frame-0000{i}.fits" for i in range(2)]
    assert {r["site"] for r in rows} == {"hanle"}
    assert sorted(r["kind"] for r in rows) == ["normal", "satellite"]
    for row in rows:
        with fits.open(out / row["file"]) as hdul:
            head = hdul[0].header
            assert hdul[0].data.shape == (64, 64) and hdul[0].data.dtype.kind == "f"
            assert head["FILTER"] == row["filter"] and row["telescope"] in head["TELESCOP"]
            kinds = [k.decode() if isinstance(k, bytes) else k
                     for k in hdul["ARTEFACTS"].data["kind"]]
        if row["label"] == "anomalous":
            assert head["OA_ANOM"] == "satellite" and kinds == ["satellite"]
        else:
            assert head["OA_ANOM"] == "none" and kinds == []
        assert row["time"].startswith("2026-") and int(row["seed"]) > 0


def test_same_seed_same_frames_other_seed_other_frames(tmp_path):
    net = load_network()
    a = export_frames(tmp_path / "a", n=2, seed=5, network=net, sites=["hanle"], size=32)
    b = export_frames(tmp_path / "b", n=2, seed=5, network=load_network(), sites=["hanle"],
                      size=32)
    c = export_frames(tmp_path / "c", n=1, seed=8, network=net, sites=["hanle"], size=32)
    assert a == b and a[0] != c[0]
    for row in a:
        with fits.open(tmp_path / "a" / row["file"]) as x, \
                fits.open(tmp_path / "b" / row["file"]) as y:
            np.testing.assert_array_equal(x[0].data, y[0].data)
    assert (tmp_path / "a" / "manifest.csv").read_bytes() == \
        (tmp_path / "b" / "manifest.csv").read_bytes()


def test_plan_spreads_kinds_and_is_normal_by_default():
    assert {p.kind for p in frame_plan(10, 1, 0.0, ["dew"])} == {"normal"}
    plan = frame_plan(10, 1, 0.5, ["dew", "fog"])
    kinds = [p.kind for p in plan if p.kind != "normal"]
    assert sorted(kinds) == ["dew", "dew", "dew", "fog", "fog"]
    assert plan == frame_plan(10, 1, 0.5, ["dew", "fog"])


@pytest.mark.parametrize("extra, message", [
    (["--site", "atlantis"], "unknown site(s) atlantis; the network has"),
    (["--n", "0"], "--n must be at least 1, got 0"),
    (["--kinds", "gremlins", "--anomalies", "0.5"], "unknown artefact kind(s) ['gremlins']"),
    (["--anomalies", "1.5"], "--anomalies must be a fraction in [0, 1]"),
    (["--size", "8"], "--size must be at least 16"),
    (["--network", "/nonexistent.toml"], "network file not found"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    argv = ["--n", "1", "--seed", "1", "--out", str(tmp_path / "o"), *extra]
    assert run_dataset(_args(*argv)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unwritable_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run_dataset(_args("--n", "1", "--seed", "1", "--out", str(blocker / "sub"))) == 2
    err = capsys.readouterr().err
    assert "cannot write to" in err and err.count("\n") == 1
