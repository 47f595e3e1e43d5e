"""``openastro analyze``: one result per frame, exit 1 on any bad file, never a traceback."""

from __future__ import annotations

import json

import numpy as np
from astropy.io import fits

from control_center.cli.main import main
from site_node.edge.synthetic import synthetic_frame


def _files(tmp_path):
    good, _ = synthetic_frame(shape=(256, 256), n_stars=60, seed=1, star_seed=3)
    again, _ = synthetic_frame(shape=(256, 256), n_stars=60, seed=2, star_seed=3)
    paths = [tmp_path / "a.fits", tmp_path / "b.fits"]
    good.writeto(paths[0])
    again.writeto(paths[1])
    return paths


def _no_models(tmp_path) -> str:
    """An empty model directory: the synthetic frames are not the simulator's, and the
    anomaly model may judge them anomalous (an anomalous frame never becomes a reference)."""
    path = tmp_path / "no-models"
    path.mkdir()
    return str(path)


def test_analyze_prints_one_line_per_frame(tmp_path, capsys) -> None:
    paths = _files(tmp_path)
    assert main(["analyze", "--models", _no_models(tmp_path), *map(str, paths)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if not line.startswith("    ")]
    assert len(lines) == 2
    assert lines[0].startswith(f"{paths[0]}:") and "sources" in lines[0] and "fwhm" in lines[0]
    assert "(stored)" in lines[0] and "(compared)" in lines[1]


def test_analyze_json_is_one_object_per_frame(tmp_path, capsys) -> None:
    paths = _files(tmp_path)
    assert main(["analyze", "--json", *map(str, paths)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["frame"] for r in rows] == [str(p) for p in paths]
    for key in ("sky_level", "n_sources", "fwhm_arcsec", "zero_point", "anomaly_score",
                "anomaly_verdict", "transients", "warnings", "timings_ms"):
        assert key in rows[0]


def test_bad_files_fail_with_one_line_each_and_the_rest_is_analysed(tmp_path, capsys) -> None:
    good = _files(tmp_path)[0]
    text = tmp_path / "notes.fits"
    text.write_text("not a FITS file")
    nans = tmp_path / "nans.fits"
    fits.PrimaryHDU(np.full((128, 128), np.nan, np.float32)).writeto(nans)
    cube = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.ones((3, 64, 64), np.float32)).writeto(cube)
    missing = tmp_path / "missing.fits"
    status = main(["analyze", str(text), str(good), str(nans), str(cube), str(missing)])
    assert status == 1
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert len(errors) == 4
    assert "Traceback" not in captured.err
    for path, err in zip((text, nans, cube, missing), errors, strict=True):
        assert err.startswith(f"openastro analyze: {path}: ")
    assert captured.out.startswith(f"{good}:")


def test_reference_directory_persists_between_runs(tmp_path, capsys) -> None:
    paths = _files(tmp_path)
    refs, models = tmp_path / "refs", _no_models(tmp_path)
    assert main(["analyze", "--models", models, "--reference", str(refs), str(paths[0])]) == 0
    assert main(["analyze", "--models", models, "--reference", str(refs), "--json",
                 str(paths[1])]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last)["reference"] == "compared"


def test_models_directory_must_exist(tmp_path, capsys) -> None:
    paths = _files(tmp_path)
    assert main(["analyze", "--models", str(tmp_path / "nope"), str(paths[0])]) == 2
    assert "not a directory" in capsys.readouterr().err
