"""``openastro log tail | stats | verify``."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from control_center.cli.log_commands import add_log_parser
from control_center.eventlog import EventLog, LogEvent, stream_id

T0 = datetime(2026, 3, 21, 20, 0, tzinfo=UTC)


class SiteConditionsChanged(LogEvent):
    site: str
    humidity: float
    open: bool
    reason: str


class NightEnded(LogEvent):
    reason: str


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="openastro")
    add_log_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["log", *argv])
    return args.func(args)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "openastro.db"
    with EventLog.open(path) as log:
        for i in range(6):
            site = ["la-palma", "paranal"][i % 2]
            with log.batch(actor=f"site:{site}", sim_time=T0 + timedelta(minutes=i)) as b:
                b.add(SiteConditionsChanged, stream=stream_id("site", site), site=site,
                      humidity=0.5, open=i != 4, reason="humidity 0.92 > 0.85")
                b.add(NightEnded, stream=uuid.uuid4(), actor="control-center", reason="dawn")
    return path


def test_tail_prints_the_latest_events(db: Path, capsys: pytest.CaptureFixture) -> None:
    assert run("tail", "--db", str(db), "-n", "3") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:5] == ["10", "2026-03-21", "20:04:00", "NightEnded",
                                    "control-center"]
    assert lines[1].split()[:5] == ["11", "2026-03-21", "20:05:00", "SiteConditionsChanged",
                                    "site:paranal"]
    assert "site=paranal humidity=0.5 open=true reason='humidity 0.92 > 0.85'" in lines[1]
    assert lines[2].endswith("reason=dawn")


def test_tail_filters(db: Path, capsys: pytest.CaptureFixture) -> None:
    assert run("tail", "--db", str(db), "--type", "SiteConditionsChanged", "--actor",
               "site:la-palma") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "5", "9"]
    assert run("tail", "--db", str(db), "--actor", "site", "-n", "2") == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["9", "11"]
    assert run("tail", "--db", str(db), "--type", "Nope") == 0
    assert capsys.readouterr().out == ""


def test_tail_shows_unknown_types(db: Path, capsys: pytest.CaptureFixture) -> None:
    con = sqlite3.connect(db)
    con.execute("UPDATE openastro_events SET topic = 'gone_plugin:Thing' WHERE id = 12")
    con.commit()
    con.close()
    assert run("tail", "--db", str(db), "-n", "1") == 0
    line = capsys.readouterr().out.strip()
    assert line.split()[3] == "?gone_plugin:Thing" and "reason=dawn" in line


def test_tail_follow(db: Path, capsys: pytest.CaptureFixture) -> None:
    def append_later() -> None:
        with EventLog.open(db) as log, log.batch(actor="observer:ana", sim_time=T0) as b:
            b.add(NightEnded, stream=uuid.uuid4(), reason="override")

    timer = threading.Timer(0.2, append_later)
    timer.start()
    try:
        assert run("tail", "--db", str(db), "-n", "1", "--follow", "--interval", "0.05",
                   "--follow-for", "0.8") == 0
    finally:
        timer.join()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["12", "13"]
    assert "observer:ana" in lines[1]


def test_stats(db: Path, capsys: pytest.CaptureFixture) -> None:
    assert run("stats", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "events      12 (positions 1–12)" in out
    assert "2026-03-21 20:00:00 UTC → 2026-03-21 20:05:00 UTC" in out
    assert "SiteConditionsChanged" in out and "site:la-palma" in out
    assert run("stats", "--db", str(db), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["events"] == 12 and data["log"] == str(db)
    assert data["by_type"] == {"NightEnded": 6, "SiteConditionsChanged": 6}
    assert data["by_actor_kind"] == {"control-center": 6, "site": 6}


def test_verify_ok_and_failed(db: Path, capsys: pytest.CaptureFixture) -> None:
    assert run("verify", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ok: {db}: 12 records, head ")
    head = out.split()[-1]
    assert len(head) == 64
    assert run("verify", "--db", str(db), "--expect-head", head) == 0
    capsys.readouterr()
    con = sqlite3.connect(db)
    con.execute("DELETE FROM openastro_events WHERE id = 7")
    con.commit()
    con.close()
    assert run("verify", "--db", str(db)) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FAILED: {db}: record 8 (NightEnded, stream ")
    assert "does not follow record 6" in out


@pytest.mark.parametrize("command", ["tail", "stats", "verify"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, command: str,
                                          capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "missing.db"
    assert run(command, "--db", str(missing)) == 2
    err = capsys.readouterr().err
    assert err == f"openastro: error: event log {missing}: no such file\n"
    assert not missing.exists()
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    assert run(command, "--db", str(junk)) == 2
    assert capsys.readouterr().err == \
        f"openastro: error: event log {junk}: file is not a database\n"
    assert junk.read_text() == "hello"


def test_default_db_is_in_the_current_directory(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("stats") == 2
    assert f"{tmp_path / 'openastro.db'}: no such file" in capsys.readouterr().err


def test_main_entry_point_wires_the_log_command(db: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    main = pytest.importorskip("control_center.cli.main")
    assert main.main(["log", "verify", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("ok:")
    assert sys.modules["control_center.cli.log_commands"]
