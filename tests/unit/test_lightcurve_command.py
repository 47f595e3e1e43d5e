"""``openastro lightcurve``: the fused light curve from the log, as ECSV and a terminal plot."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from test_photometry_chain import START, Night, star_frame

from control_center.cli.lightcurve_command import add_lightcurve_parser
from control_center.clock import SimulatedClock
from control_center.eventlog import EventLog


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="openastro")
    add_lightcurve_parser(parser.add_subparsers())
    args = parser.parse_args(["lightcurve", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lc") / "night.db"
    rng = np.random.default_rng(11)
    with EventLog.open(path, clock=SimulatedClock(START)) as log:
        night = Night(log)
        for k in range(8):
            for j, site in enumerate(("north", "south")):
                night.frame(site, "VAR-0007", 40 * k + j,
                            star_frame(rng, zp=23.0 - 0.5 * j,
                                       target_mag=15.0 + 0.2 * math.sin(k)))
        night.frame("north", "VAR-0007", 400,
                    {"status": "no-wcs", "target": {}, "stars": {}, "n_matched": 0})
        night.end()
    return path


def test_prints_the_fused_light_curve_as_ecsv(db, capsys):
    assert run(["VAR-0007", "--db", str(db)]) == 0
    table = Table.read(capsys.readouterr().out, format="ascii.ecsv")
    assert table.colnames == ["time_mjd", "filter", "mag", "mag_err", "n", "sites", "chi2"]
    assert len(table) == 8 and set(table["sites"]) == {"north+south"}
    truth = 15.0 + 0.2 * np.sin(np.arange(8))
    assert np.max(np.abs(table["mag"] - truth)) < 0.03
    assert table.meta["frames"] == 17 and table.meta["frames_calibrated"] == 16
    assert table.meta["frames_flagged"] == {"frame: no-wcs": 1}
    assert str(table["mag"].unit) == "mag"


def test_writes_the_table_and_the_flagged_points(db, tmp_path, capsys):
    out = tmp_path / "var7.ecsv"
    assert run(["var-0007", "--db", str(db), "--out", str(out), "--method", "learned"]) == 0
    assert len(Table.read(out, format="ascii.ecsv")) == 8
    points = Table.read(tmp_path / "var7-points.ecsv", format="ascii.ecsv")
    assert len(points) == 17 and list(points["flag"]).count("frame: no-wcs") == 1
    assert points["mag"].mask.sum() == 1


def test_plot_draws_in_the_terminal(db, capsys):
    assert run(["VAR-0007", "--db", str(db), "--plot"]) == 0
    out = capsys.readouterr().out
    assert "VAR-0007: fused light curve" in out and "hours since MJD" in out
    assert "\x1b[" not in out                         # no colour codes when piped


def test_unknown_target_and_empty_log_say_why(db, tmp_path, capsys):
    assert run(["VAR-9999", "--db", str(db)]) == 2
    assert "no photometry of 'VAR-9999'" in capsys.readouterr().err
    with EventLog.open(tmp_path / "empty.db"):
        pass
    assert run(["VAR-0007", "--db", str(tmp_path / "empty.db")]) == 2
    assert "--in-process" in capsys.readouterr().err
    assert run(["VAR-0007", "--db", str(tmp_path / "missing.db")]) == 2
