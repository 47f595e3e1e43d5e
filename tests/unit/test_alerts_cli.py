"""``openastro alert FILE...`` through its own parser (the command module alone)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from control_center.cli.alert_command import add_alert_parser
from control_center.eventlog import EventLog

DATA = Path(__file__).resolve().parents[1] / "data" / "alerts"
TIME = "2025-01-15T02:45:00Z"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="openastro")
    add_alert_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["alert", *argv])
    return args.func(args)


def test_accepted_and_rejected_lines_and_exit_code(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<VOEvent ivorn=")
    db = tmp_path / "log.db"
    code = run(str(DATA / "swift_bat_grb.xml"), str(DATA / "lvk_S250115ab_preliminary.xml"),
               str(bad), "--db", str(db), "--time", TIME)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0].startswith("accepted ")
    assert "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1283461-259 kind=grb role=observation" \
        in lines[0]
    assert "ra 101.2480 dec -22.5122 err 0.0500 deg" in lines[0]
    assert lines[1].startswith("accepted ") and "kind=gw" in lines[1]
    assert "50 tiles (" in lines[1]
    assert lines[2].startswith(f"rejected   {bad}: malformed XML")
    with EventLog.open(db, create=False) as log:
        assert [r.type_name for r in log.read()] == ["AlertReceived", "AlertReceived",
                                                     "AlertRejected"]


def test_duplicates_updates_and_retractions(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "log.db")
    assert run(str(DATA / "igwn_S250115ab_preliminary.json"), "--db", db, "--time", TIME,
               "--max-tiles", "5") == 0
    assert "5 tiles (" in capsys.readouterr().out
    assert run(str(DATA / "igwn_S250115ab_preliminary.json"),
               str(DATA / "igwn_S250115ab_retraction.json"), "--db", db, "--time", TIME) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("duplicate ") and "nothing appended" in out[0]
    assert out[1].startswith("retracted ") and "withdraws S250115ab" in out[1]


def test_a_missing_file_is_rejected_not_fatal(tmp_path: Path, capsys) -> None:
    code = run(str(tmp_path / "nope.xml"), "--db", str(tmp_path / "log.db"), "--time", TIME)
    assert code == 1
    assert "rejected" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--time", "soon"], "--time 'soon' is not an ISO date-time"),
    (["--network", "/nonexistent.toml"], "network file not found"),
    (["--max-tiles", "0"], "--max-tiles must be at least 1"),
])
def test_bad_options_stop_with_one_line(tmp_path: Path, capsys, argv, message) -> None:
    assert run(str(DATA / "swift_bat_grb.xml"), "--db", str(tmp_path / "log.db"),
               *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("openastro: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_an_unusable_log_stops_with_one_line(tmp_path: Path, capsys) -> None:
    not_a_db = tmp_path / "log.db"
    not_a_db.write_bytes(b"this is not sqlite" * 100)
    copy = tmp_path / "grb.xml"
    shutil.copy(DATA / "swift_bat_grb.xml", copy)
    assert run(str(copy), "--db", str(not_a_db), "--time", TIME) == 2
    err = capsys.readouterr().err
    assert err.startswith("openastro: error: ") and len(err.strip().splitlines()) == 1
    assert not_a_db.read_bytes() == b"this is not sqlite" * 100
