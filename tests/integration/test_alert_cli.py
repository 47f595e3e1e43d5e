"""``openastro alert`` in a subprocess on a temporary SQLite log, then the log commands on it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "alerts"
OPENASTRO = Path(sys.executable).parent / "openastro"


def openastro(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(OPENASTRO), *argv], check=False, capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in ("swift_bat_grb.xml", "lvk_S250115ab_preliminary.xml", "bayestar.fits.gz",
                 "igwn_S250115ab_preliminary.json", "ep_wxt_alert.json"):
        shutil.copy(DATA / name, folder / name)
    (folder / "truncated.xml").write_bytes((DATA / "swift_bat_grb.xml").read_bytes()[:900])
    return folder


def test_alert_command_records_and_the_log_commands_read_it(inbox: Path, tmp_path: Path):
    db = str(tmp_path / "alerts.db")
    files = ["swift_bat_grb.xml", "lvk_S250115ab_preliminary.xml",
             "igwn_S250115ab_preliminary.json", "ep_wxt_alert.json", "truncated.xml"]
    result = openastro("alert", *files, "--db", db, "--time", "2025-01-15T02:45:00Z",
                       cwd=inbox)
    assert result.returncode == 1, result.stderr          # one notice was rejected
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["accepted"] * 4 + ["rejected"]
    assert "kind=grb" in lines[0] and "kind=gw" in lines[1] and "tiles (" in lines[1]
    assert "kind=xray" in lines[3]
    assert "truncated.xml: malformed XML" in lines[4]

    tail = openastro("log", "tail", "--db", db, "-n", "10", cwd=inbox)
    assert tail.returncode == 0, tail.stderr
    types = [line.split()[3] for line in tail.stdout.splitlines()]
    assert types == ["AlertReceived"] * 4 + ["AlertRejected"]

    again = openastro("alert", "swift_bat_grb.xml", "--db", db, cwd=inbox)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("duplicate ")
    stats = openastro("log", "stats", "--db", db, "--json", cwd=inbox)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["events"] == 5     # the duplicate added nothing
    verify = openastro("log", "verify", "--db", db, cwd=inbox)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_alert_command_reports_an_unusable_log_in_one_line(inbox: Path, tmp_path: Path):
    result = openastro("alert", "swift_bat_grb.xml", "--db",
                       f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'log.db'}", cwd=inbox)
    assert result.returncode == 2
    assert result.stderr.startswith("openastro: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
