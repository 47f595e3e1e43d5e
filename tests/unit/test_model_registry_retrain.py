"""Retraining from the log: observers' ratings become labels; the APScheduler job runs it."""

from __future__ import annotations

import argparse
import csv
import time
from datetime import UTC, datetime, timedelta

import pytest
from test_model_registry_toy import write_toy_catalogue

from control_center.cli.train_command import (
    add_retrain_parser,
    add_train_parser,
    run_retrain,
    run_train,
)
from control_center.eventlog import EventLog, stream_id
from control_center.events import FrameAnalyzed, ObservationRated
from control_center.events.model import ModelTrained
from control_center.model_registry.retrain import RetrainJob, build_scheduler, parse_every
from models.datasets import build_log_frames

T0 = datetime(2026, 3, 1, 22, tzinfo=UTC)


@pytest.fixture
def toy(tmp_path):
    return write_toy_catalogue(tmp_path / "pkgs")


def _night(db, ratings):
    """12 analysed frames, then observers' ratings ``{observation_id: rating}``."""
    with EventLog.open(db) as log:
        with log.batch(actor="site:hanle", sim_time=T0) as b:
            for i in range(12):
                oid = f"obs-{i:02d}"
                b.add(FrameAnalyzed, stream=stream_id("observation", oid), observation_id=oid,
                      site="hanle", telescope="hanle-0.7m", seq=i, pipeline="edge",
                      sim_time=T0 + timedelta(minutes=5 * i), error="",
                      measures={"sky_level": 100.0 + 7 * i, "fwhm_arcsec": 1.0 + 0.1 * (i % 5),
                                "n_sources": 50 + i * i % 11, "verdict": "normal"})
        for oid, rating in ratings:
            with log.batch(actor="observer:ann", sim_time=T0 + timedelta(hours=2)) as b:
                b.add(ObservationRated, stream=stream_id("observation", oid),
                      observation_id=oid, rating=rating, observer="ann", note="")


def _args(adder, argv):
    parser = argparse.ArgumentParser()
    adder(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_observers_ratings_enter_the_training_data(tmp_path, toy):
    db = str(tmp_path / "openastro.db")
    _night(db, [("obs-03", "bad"), ("obs-07", "bad"), ("obs-05", "good"), ("obs-07", "good"),
                ("obs-09", "bad")])
    job = RetrainJob(db=db, model="toy", models_dir=tmp_path / "store", catalogue=toy,
                     quick=True)
    outcome = job()
    assert outcome is not None and job.runs == [outcome]
    with EventLog.open(db) as log:
        (trained,) = [r.event for r in log.read(types=(ModelTrained,))]
        seed = log.last_position() - 2      # the job's seed: the log's length when it ran
    data = trained.training_data
    assert data["source"] == "log" and data["frames"] == 12 and data["seed"] == seed
    assert trained.actor == "control-center"
    assert data["rated_bad"] == 2 and data["rated_good"] == 2    # obs-07: bad, then good
    assert data["labels"] == {"bad": 2, "good": 2, "normal": 8}
    # what the train entry point read: exactly the frames the observers rated bad
    assert trained.metrics["bad_ids"] == ["obs-03", "obs-09"] and trained.metrics["rows"] == 12


def test_log_dataset_file_labels(tmp_path):
    db = str(tmp_path / "openastro.db")
    _night(db, [("obs-01", "bad")])
    with EventLog.open(db) as log:
        info = build_log_frames(log.read(), tmp_path / "ds")
    with open(tmp_path / "ds" / "frames.csv", newline="") as f:
        rows = {r["observation_id"]: r for r in csv.DictReader(f)}
    assert rows["obs-01"]["label"] == "bad" and rows["obs-01"]["observer"] == "ann"
    assert rows["obs-02"]["label"] == "normal" and rows["obs-02"]["rating"] == ""
    assert float(rows["obs-02"]["sky_level"]) == 114.0 and rows["obs-02"]["ellipticity"] == "nan"
    assert info["positions"] == [1, 13] and len(info["sha256"]) == 64
    with pytest.raises(ValueError, match="no analysed frame"):
        build_log_frames([], tmp_path / "empty")


def test_train_from_log_command_and_a_model_that_cannot(tmp_path, toy, capsys, monkeypatch):
    db = str(tmp_path / "openastro.db")
    _night(db, [("obs-04", "bad")])
    args = _args(add_train_parser, ["train", "toy", "--db", db, "--from-log", "--quick"])
    assert run_train(args, catalogue=toy) == 0
    assert "toy v2" in capsys.readouterr().out
    import toy_models.toy.train as module

    monkeypatch.delattr(module, "LOG_DATASET")
    assert run_train(args, catalogue=toy) == 2
    assert "cannot train from the log" in capsys.readouterr().err


def test_the_scheduled_job_runs_under_apscheduler(tmp_path, toy):
    db = str(tmp_path / "openastro.db")
    _night(db, [("obs-02", "bad")])
    job = RetrainJob(db=db, model="toy", models_dir=tmp_path / "store", catalogue=toy,
                     quick=True, seed=3)
    scheduler = build_scheduler(job, ("interval", parse_every("24h")), blocking=False,
                                run_now=True)
    (periodic,) = [j for j in scheduler.get_jobs() if j.id == "retrain-toy"]
    assert periodic.trigger.interval == timedelta(hours=24)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while not job.runs and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert len(job.runs) == 1 and job.runs[0].version == "v2"
    cron = build_scheduler(job, ("cron", "0 12 * * *"), blocking=False)
    assert str(cron.get_jobs()[0].trigger).startswith("cron[")


def test_a_job_on_an_empty_log_skips_and_says_why(tmp_path, toy):
    with EventLog.open(tmp_path / "empty.db"):
        pass
    job = RetrainJob(db=str(tmp_path / "empty.db"), model="toy", models_dir=tmp_path / "s",
                     catalogue=toy, quick=True)
    assert job() is None and "no analysed frame" in job.runs[0]


@pytest.mark.parametrize("argv, message", [
    (["--model", "toy", "--every", "soon"], "--every 'soon': give a positive duration"),
    (["--model", "toy", "--every", "0h"], "give a positive duration"),
    (["--model", "toy", "--cron", "61 * * * *"], "--cron '61 * * * *'"),
    (["--model", "nope"], "unknown model 'nope'"),
])
def test_retrain_command_bad_input(tmp_path, toy, capsys, argv, message):
    args = _args(add_retrain_parser, ["retrain", *argv, "--db", str(tmp_path / "x.db")])
    assert run_retrain(args, catalogue=toy) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_parse_every():
    assert parse_every("90s") == timedelta(seconds=90)
    assert parse_every("1.5h") == timedelta(minutes=90)
    assert parse_every("7d") == timedelta(days=7)
