"""A simulated night end to end: report, determinism, rebuildable projections, bad input."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from control_center.eventlog import EventLog
from control_center.projections.base import ProjectionStore, canonical_json
from control_center.projections.night_report import NightReport

pytestmark = pytest.mark.integration

START = "2026-03-21T22:30:00+00:00"   # dark at all three shipped sites within 3 hours


def openastro(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "control_center.cli.main", *args], check=False,
                          capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def decisions_and_outcomes(db: Path) -> list[str]:
    """The log's content without wall-clock times: what must replay identically."""
    with EventLog.open(db, create=False) as log:
        out = []
        for r in log.read():
            e = r.event
            out.append(json.dumps([type(e).__name__, str(e.originator_id), e.originator_version,
                                   e.sim_time.isoformat(), e.actor,
                                   str(e.causation_id), e.payload()], default=str,
                                  sort_keys=True))
        return out


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    db = tmp_path_factory.mktemp("night") / "night.db"
    result = openastro("demo", "--headless", "--in-process", "--json", "--hours", "3",
                       "--seed", "5", "--start", START, "--db", str(db))
    assert result.returncode == 0, result.stderr
    return db, json.loads(result.stdout)


def test_report_covers_every_site_with_work_done(night):
    _, report = night
    assert set(report["sites"]) == {"cerro-pachon", "la-palma", "hanle"}
    total = sum(s["completed"] for s in report["sites"].values())
    assert total > 50
    for s in report["sites"].values():
        assert 0 <= s["weather_lost_hours"] <= s["dark_hours"] <= 3.0
        assert 0 <= s["dark_time_used"] <= 1.0
        assert s["science_value"] >= 0


def test_same_seed_replays_identically_and_another_seed_differs(night, tmp_path):
    db, _ = night
    again = tmp_path / "again.db"
    assert openastro("demo", "--headless", "--in-process", "--hours", "3", "--seed", "5",
                     "--start", START, "--db", str(again)).returncode == 0
    assert decisions_and_outcomes(db) == decisions_and_outcomes(again)
    other = tmp_path / "other.db"
    assert openastro("demo", "--headless", "--in-process", "--hours", "3", "--seed", "6",
                     "--start", START, "--db", str(other)).returncode == 0
    assert decisions_and_outcomes(db) != decisions_and_outcomes(other)


def test_report_projection_rebuilds_identically(night):
    db, report = night
    with EventLog.open(db, create=False) as log:
        store = ProjectionStore(log)
        kept = NightReport()
        store.catch_up(kept)
        rebuilt = NightReport()
        store.rebuild(rebuilt)
        assert canonical_json(kept.to_state()) == canonical_json(rebuilt.to_state())
        figures = rebuilt.report(report["night"])
        assert figures["sites"] == report["sites"]


def test_log_of_the_night_verifies_and_detects_an_edit(night, tmp_path):
    db, _ = night
    copy = tmp_path / "copy.db"
    copy.write_bytes(db.read_bytes())
    assert openastro("log", "verify", "--db", str(copy)).returncode == 0
    import sqlite3

    with sqlite3.connect(copy) as conn:
        row = conn.execute("SELECT id, state FROM openastro_events WHERE topic LIKE "
                           "'%ObservationCompleted' LIMIT 1").fetchone()
        conn.execute("UPDATE openastro_events SET state = ? WHERE id = ?",
                     (row[1].replace(b'"snr":', b'"snr":9'), row[0]))
    result = openastro("log", "verify", "--db", str(copy))
    assert result.returncode == 1
    assert f"record {row[0]}" in result.stdout + result.stderr


def test_malformed_network_file_is_one_line_error_and_log_untouched(tmp_path):
    db = tmp_path / "kept.db"
    assert openastro("demo", "--headless", "--in-process", "--hours", "0.5", "--start", START,
                     "--db", str(db)).returncode == 0
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sites]]\nname = 'x'\nlatitude_deg = 95\n")
    result = openastro("demo", "--headless", "--network", str(bad), "--db", str(db))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and str(bad) in result.stderr
    result = openastro("demo", "--headless", "--policy", "nonexistent", "--db", str(db))
    assert result.returncode == 2 and "nonexistent" in result.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_corrupt_log_file_is_refused_and_not_rewritten(tmp_path):
    db = tmp_path / "corrupt.db"
    db.write_bytes(b"this is not a database" * 100)
    before = db.read_bytes()
    result = openastro("demo", "--headless", "--hours", "0.5", "--db", str(db))
    assert result.returncode == 2
    assert str(db) in result.stderr and result.stderr.count("\n") == 1
    assert db.read_bytes() == before


@pytest.mark.postgres
def test_demo_runs_on_postgresql_and_unreachable_server_is_one_line(pg_database, night):
    _, sqlite_report = night
    result = openastro("demo", "--headless", "--in-process", "--json", "--hours", "3",
                       "--seed", "5", "--start", START, "--db", pg_database)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sites"] == sqlite_report["sites"]      # same night, whatever the database
    assert openastro("log", "verify", "--db", pg_database).returncode == 0
    dead = "postgresql://postgres@127.0.0.1:9/nowhere"     # nothing listens on port 9
    result = openastro("demo", "--headless", "--hours", "0.5", "--db", dead)
    assert result.returncode == 2
    assert "127.0.0.1:9" in result.stderr and result.stderr.count("\n") == 1


def test_site_node_processes_run_the_same_night_as_the_in_process_simulation(tmp_path):
    """``demo`` drives one site-node process per site over gRPC (TLS + token): the night
    is the same as in-process, and every frame's edge inference is in the log."""
    args = ["--headless", "--json", "--hours", "1", "--seed", "5", "--start", START]
    local = openastro("demo", *args, "--in-process", "--db", str(tmp_path / "a.db"))
    remote = openastro("demo", *args, "--frame-size", "128", "--db", str(tmp_path / "b.db"))
    assert local.returncode == 0 and remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["sites"] == json.loads(local.stdout)["sites"]
    with EventLog.open(tmp_path / "b.db", create=False) as log:
        events = [r.event for r in log.read()]
    types = [type(e).__name__ for e in events]
    finished = types.count("ObservationCompleted") + types.count("ObservationFailed")
    assert finished > 10 and types.count("FrameAnalyzed") == finished
    health = [e for e in events if type(e).__name__ == "SiteHealthChanged"]
    assert {e.site for e in health} == {"cerro-pachon", "la-palma", "hanle"}
    assert all(e.state == "online" for e in health)      # links came up and stayed up
