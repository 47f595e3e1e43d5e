"""``openastro ui``: refusals on one line, and the real console in a pseudo-terminal."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pexpect
import pytest

from control_center.cli.ui_command import add_ui_parser, default_observer
from control_center.eventlog import EventLog

RUN_UI = ("import sys, argparse; from control_center.cli.ui_command import add_ui_parser; "
          "p = argparse.ArgumentParser(prog='openastro'); add_ui_parser(p.add_subparsers()); "
          "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")
TERMINAL = {"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30",
            "TEXTUAL_ANIMATIONS": "none", "PYTHONWARNINGS": "ignore"}


def ui(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="openastro")
    add_ui_parser(parser.add_subparsers())
    args = parser.parse_args(["ui", *argv])
    return args.func(args)


def test_a_log_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    assert ui("--db", str(tmp_path / "missing.db")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.db" in err and err.startswith("openastro: error:")
    assert not (tmp_path / "missing.db").exists()        # never created


def test_bad_observer_and_poll_are_refused(demo_db, capsys) -> None:
    db, _ = demo_db
    assert ui("--db", db, "--observer", "ana maria") == 2
    assert "--observer must be one word" in capsys.readouterr().err
    assert ui("--db", db, "--poll", "0") == 2
    assert "--poll" in capsys.readouterr().err


def test_without_a_terminal_the_command_says_what_to_use_instead(demo_db, capsys) -> None:
    db, _ = demo_db
    assert ui("--db", db) == 2     # pytest captures stdout: not a terminal
    assert "openastro log tail --follow" in capsys.readouterr().err


def test_observer_defaults_to_user(monkeypatch) -> None:
    monkeypatch.setenv("USER", "night-owl")
    assert default_observer() == "night-owl"


@pytest.mark.timeout(90)
def test_the_console_in_a_terminal_shows_the_network_and_records_an_override(demo_db) -> None:
    db, _ = demo_db
    child = pexpect.spawn(sys.executable, ["-c", RUN_UI, "ui", "--db", db, "--observer", "cy"],
                          env={**os.environ, **TERMINAL}, dimensions=(30, 100), timeout=30,
                          encoding="utf-8")
    try:
        child.expect("cerro-pachon")
        child.expect("VAR-0042")                  # what pachon-1m is observing
        child.send("4")
        child.expect("under way")                 # the Queue view's summary
        child.send("1")
        child.expect("Resume")                    # the Network view's keys, in the footer
        pause_dialog_on_the_telescope(child)
        child.send("seeing spike")
        if child.expect(["seeing spike", pexpect.TIMEOUT], timeout=10) == 1:
            child.send("seeing spike")            # typed before the field had the focus
            child.expect("seeing spike")
        child.send("\t")
        child.send("\r")                          # Confirm
        child.expect("Recorded")
        child.send("q")
        child.expect(pexpect.EOF, timeout=90)     # slow only when CI's cores are all busy
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    with EventLog.open(db, create=False) as log:
        paused = [r for r in log.read() if r.type_name == "TelescopePaused"]
    assert len(paused) == 1 and paused[0].actor == "observer:cy"
    assert paused[0].event.reason == "seeing spike"


def pause_dialog_on_the_telescope(child, attempts: int = 3) -> None:
    """Tab to the telescopes table and press p. What the screen shows decides, not how long
    we waited: the rating keys (g Good) show in the footer only while the telescopes table
    has the focus (a Tab may land before the view took the focus on a slow machine)."""
    for _ in range(attempts):
        child.send("\t")
        if child.expect(["Good", pexpect.TIMEOUT], timeout=10) == 0:
            break
    else:
        raise AssertionError("the telescopes table never took the focus")
    child.send("p")
    child.expect("Pause telescope pachon-1m")


@pytest.mark.timeout(90)
def test_the_replay_in_a_terminal_steps_through_the_night(demo_db) -> None:
    db, _ = demo_db
    child = pexpect.spawn(sys.executable, ["-c", RUN_UI, "ui", "--db", db, "--replay"],
                          env={**os.environ, **TERMINAL}, dimensions=(30, 100), timeout=30,
                          encoding="utf-8")
    try:
        child.expect("event 1/35")
        for position in range(2, 13):             # 11 steps, each seen: the first assignment
            child.send(".")
            child.expect(f"event {position}/35")
        child.expect("NGC1234")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before


def test_the_demo_opens_the_console_on_its_night_and_quitting_ends_the_night(
        tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    child = pexpect.spawn(sys.executable, ["-m", "control_center.cli.main", "demo", "--in-process",
                                           "--hours", "1", "--start", "2026-03-21T22:30:00+00:00",
                                           "--no-simulated-alerts", "--db", db],
                          env={**os.environ, **TERMINAL}, dimensions=(30, 100), timeout=60,
                          encoding="utf-8")
    try:
        child.expect("cerro-pachon")              # the network view, live on the night's log
        child.expect("hanle")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    with EventLog.open(db, create=False) as log:
        ended = [r.event for r in log.read() if r.type_name == "NightEnded"]
    assert len(ended) == 1                        # at dawn, or stopped by the quit: recorded
