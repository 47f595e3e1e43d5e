"""The Light curves view and the photometry alerts, on a real log (live and replayed).

The log holds a night whose sites measure frames of a variable, a constant and
a new source (synthetic star tables with known catalogue magnitudes), and the
control center's photometry chain (its reactor) records what it records in a
night: site calibrations, a drift at one site, light-curve alerts.
"""

from __future__ import annotations

import asyncio
import functools
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from logbuilder import START, LogBuilder
from ui_helpers import caught_up, console, until

WAIT_S = 30.0
"""Longest wait for the console (a loaded 2-core machine is slow; a pass is fast)."""

from control_center.eventlog import EventLog, stream_id
from control_center.events.night import NightEnded
from control_center.events.photometry import FramePhotometryMeasured
from control_center.photometry.reactor import PhotometryReactor, record_reactions
from control_center.projections.lightcurves import LightCurves
from control_center.ui.model.replay import ReplayFollower
from control_center.ui.replay_app import build_replay
from control_center.ui.views.live_table import LiveTable

MJD0 = 61120.0 + 23.0 / 24.0          # START (2026-03-21 23:00 UTC)
SCOPES = (("cerro-pachon", "pachon-1m", 23.0), ("la-palma", "palma-1m", 22.5))


def star_frame(rng, *, zp: float, target_mag: float | None, airmass: float = 1.2,
               n: int = 40, noise: float = 0.01) -> dict:
    """One frame's photometry: instrumental = catalogue - zp - 0.05 (colour - 0.65) + 0.1 X."""
    cat = rng.uniform(12.0, 16.0, n)
    colour = rng.uniform(0.2, 1.4, n)
    inst = cat - zp - 0.05 * (colour - 0.65) + 0.1 * airmass + rng.normal(0.0, noise, n)
    target = {"status": "not-detected", "ra": 150.0, "dec": 2.0, "x": 0.0, "y": 0.0,
              "colour": 0.65, "instrumental_mag": None, "instrumental_err": None,
              "limit_mag": 17.0 - zp + 0.1 * airmass}
    if target_mag is not None:
        target.update(status="ok", instrumental_err=0.01, instrumental_mag=float(
            target_mag - zp + 0.1 * airmass + rng.normal(0.0, 0.01)))
    return {"status": "ok", "target": target, "n_matched": n,
            "stars": {"x": rng.uniform(-1, 1, n).tolist(), "y": rng.uniform(-1, 1, n).tolist(),
                      "instrumental_mag": inst.tolist(), "instrumental_err": [noise] * n,
                      "catalogue_mag": cat.tolist(), "catalogue_colour": colour.tolist(),
                      "flag": [0] * n}}


class PhotometryNight:
    """A night of the test network whose frames go through the photometry chain."""

    def __init__(self, log: EventLog) -> None:
        self.builder = LogBuilder(log, hours=9)
        self.log, self.reactor, self.n = log, PhotometryReactor(), 0
        self.rng = np.random.default_rng(3)
        self.builder.night_started()

    def frame(self, site: str, telescope: str, target: str, minutes: float, phot: dict) -> None:
        self.n += 1
        when = self.builder.at(minutes)
        with self.log.batch(actor=f"site:{site}", sim_time=when,
                            correlation_id=self.builder.night) as b:
            event = b.add(
                FramePhotometryMeasured, stream=stream_id("observation", f"o{self.n}"),
                observation_id=f"obs-{self.n}", request_id=f"req-{target}", target=target,
                site=site, telescope=telescope, filter="r", time_mjd=MJD0 + minutes / 1440.0,
                airmass=1.2, exptime=60.0, fwhm_arcsec=1.0, status=phot["status"],
                measurement=phot["target"], stars=phot["stars"], n_matched=phot["n_matched"],
                reasons=[], source="frame")
        record_reactions(self.log, self.reactor, [event], sim_time=when,
                         correlation_id=self.builder.night)

    def round(self, k: int) -> None:
        """Round ``k`` (every 40 min): each site measures VAR, CONST and NEW; la-palma's
        zero point drifts by 0.1 mag over 12 rounds."""
        for j, (site, scope, zp) in enumerate(SCOPES):
            zp = zp - (0.1 * k / 11 if site == "la-palma" else 0.0)
            t = 40 * k + 3 * j
            self.frame(site, scope, "VAR-0007", t, star_frame(
                self.rng, zp=zp, target_mag=15.0 + 0.3 * math.sin(k)))
            self.frame(site, scope, "CONST-0001", t + 1, star_frame(self.rng, zp=zp,
                                                                    target_mag=15.2))
            if j == 0:
                self.frame(site, scope, "NEW-0003", t + 2, star_frame(
                    self.rng, zp=zp, target_mag=None if k < 6 else 15.5))

    def end(self) -> None:
        when = START + timedelta(hours=9)
        with self.log.batch(actor="control-center", sim_time=when,
                            correlation_id=self.builder.night) as b:
            event = b.add(NightEnded, stream=self.builder.night, reason="test")
        record_reactions(self.log, self.reactor, [event], sim_time=when,
                         correlation_id=self.builder.night)


def write_night(path: Path, rounds: int = 12) -> None:
    with EventLog.open(path) as log:
        night = PhotometryNight(log)
        for k in range(rounds):
            night.round(k)
        night.end()


@pytest.fixture(scope="module")
def night_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("lightcurves") / "night.db"
    write_night(path)
    return str(path)


async def wait(pilot, predicate, what: str) -> None:
    await until(pilot, predicate, timeout=WAIT_S, what=what)


async def show(pilot, app, view) -> None:
    """Press 8 until the Light curves view is in front (the console focuses the Network
    view once mounted, which brings its tab back if that lands after the key)."""
    for _ in range(20):
        await pilot.press("8")
        await pilot.pause(0.05)
        if app.active_view is view:
            return
    raise AssertionError("the Light curves view does not come to the front")


def synced(test):
    """Run an async Pilot test with asyncio (as the other console tests do)."""
    @functools.wraps(test)
    def run(*args, **kwargs) -> None:
        asyncio.run(test(*args, **kwargs))
    return run


def cli_curve(db: str, target: str) -> list:
    """What ``openastro lightcurve TARGET`` prints (the projection over the whole log)."""
    curves = LightCurves()
    with EventLog.open(db, create=False) as log:
        for r in log.read(types=list(LightCurves.handles)):
            curves.apply(r)
    return curves.fused(target)


def frames_of(table: LiveTable, target: str) -> int:
    """The Frames column of ``target`` (0 when not listed)."""
    return int(table.get_row(target)[1]) if target in table.keys else 0


def summary_text(app) -> str:
    return str(app.query_one("#lightcurve-summary").render())


@synced
async def test_the_view_lists_targets_and_draws_the_selected_fused_curve(night_db) -> None:
    app = console(night_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await caught_up(pilot, app, timeout=WAIT_S)
        view = app.view("lightcurves")
        await show(pilot, app, view)
        table = view.query_one(LiveTable)
        await wait(pilot, lambda: table.row_count == 3, what="the targets")
        assert table.keys == ["CONST-0001", "NEW-0003", "VAR-0007"]
        target, frames, calibrated, last, _, alerts, sites = table.get_row("VAR-0007")
        assert (target, frames, sites) == ("VAR-0007", "24", "cerro-pachon, la-palma")
        assert str(calibrated) == "24" and str(alerts) == "1"
        assert last.endswith(" r") and "±" in last
        new = table.get_row("NEW-0003")
        assert str(new[2]) == "6"                       # 6 frames saw nothing: not calibrated

        table.move_cursor(row=2)                        # VAR-0007
        await wait(pilot, lambda: view.curve is not None and view.curve.target == "VAR-0007",
                    what="the curve of VAR-0007")
        assert [(f.time_mjd, f.mag, f.err) for f in view.curve.fused] == \
            [(f.time_mjd, f.mag, f.err) for f in cli_curve(night_db, "VAR-0007")]
        assert all(f.sites == ("cerro-pachon", "la-palma") for f in view.curve.fused)
        text = summary_text(app)
        assert "sites cerro-pachon, la-palma" in text and "24/24 frames calibrated" in text
        assert "12 fused" in text and "scatter" in text
        alerts_line = str(app.query_one("#lightcurve-alerts").render())
        assert "variability" in alerts_line and "drift at la-palma" in alerts_line

        table.move_cursor(row=1)                        # NEW-0003: flagged frames say why
        await wait(pilot, lambda: view.curve.target == "NEW-0003", what="NEW-0003")
        assert "6/12 frames calibrated" in summary_text(app)
        assert "flagged: 6 target: not-detected" in summary_text(app)

        await pilot.press("l")                          # the learned fusion across sites
        await wait(pilot, lambda: view.curve.fused and view.curve.fused[0].method == "learned",
                   what="the learned fusion")
        assert summary_text(app).startswith("NEW-0003 (learned)")


@synced
async def test_the_table_follows_frames_as_they_are_measured(tmp_path) -> None:
    db = tmp_path / "live.db"
    with EventLog.open(db) as log:
        night = PhotometryNight(log)
        for k in range(3):
            night.round(k)
        app = console(str(db), poll_interval=0.02)
        async with app.run_test(size=(120, 40)) as pilot:
            await caught_up(pilot, app, timeout=WAIT_S)
            view = app.view("lightcurves")
            await show(pilot, app, view)
            table = view.query_one(LiveTable)
            table.move_cursor(row=table.keys.index("VAR-0007"))
            await wait(pilot, lambda: view.curve is not None
                        and view.curve.target == "VAR-0007", what="the first curve")
            before = len(view.curve.fused)
            assert table.get_row("VAR-0007")[1] == "6"
            for k in range(3, 6):
                night.round(k)
            await caught_up(pilot, app, timeout=WAIT_S)
            await wait(pilot, lambda: table.get_row("VAR-0007")[1] == "12", what="new frames")
            await wait(pilot, lambda: len(view.curve.fused) == before + 3,
                        what="the curve to grow")
            assert table.selected_key == "VAR-0007"


@synced
async def test_drift_and_light_curve_alerts_show_in_the_alerts_view(night_db) -> None:
    app = console(night_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await caught_up(pilot, app, timeout=WAIT_S)
        await pilot.press("5")
        table = app.view("alerts").query_one(LiveTable)
        rows = {key: table.get_row(key) for key in table.keys}
        drift = next(k for k in rows if k.startswith("drift:la-palma/palma-1m:r:"))
        assert str(rows[drift][4]) == "drift" and rows[drift][1] == "drift"
        assert not any(k.startswith("drift:cerro-pachon") for k in rows)
        assert str(rows["lightcurve:VAR-0007:r:variability"][4]) == "light-curve"
        assert rows["lightcurve:NEW-0003:r:new-transient"][1] == "new src"
        assert not any("CONST" in k for k in rows)
        table.move_cursor(row=table.keys.index(drift))
        await pilot.pause()
        detail = str(app.query_one("#alert-detail").render())
        assert "calibration drift" in detail and "within-night drift of -0.0" in detail
        await pilot.press("a")                          # not acknowledgeable: says why
        await pilot.pause()
        assert any("not acknowledged" in str(n.message) for n in app._notifications)


@synced
async def test_the_replay_goes_back_in_time_and_forward_again(night_db) -> None:
    follower = ReplayFollower(night_db)
    app = build_replay(night_db, follower=follower, poll_interval=0.02)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(pilot, lambda: app.snapshot is not None and app.snapshot.replay is not None
                    and not app.snapshot.replay.loading, what="the replay to load")
        view = app.view("lightcurves")
        await show(pilot, app, view)
        table = view.query_one(LiveTable)
        total = app.snapshot.replay.total

        async def at(index: int) -> None:
            follower.seek_index(index)
            app.wake_follower()
            await wait(pilot, lambda: app.snapshot.replay.index == index, what=f"#{index}")
            await pilot.pause()

        await at(total)
        await wait(pilot, lambda: frames_of(table, "VAR-0007") == 24, what="every frame")
        table.move_cursor(row=table.keys.index("VAR-0007"))
        await wait(pilot, lambda: view.curve is not None and len(view.curve.fused) == 12,
                    what="the whole curve")
        await at(total // 3)                       # back in time: fewer frames, shorter curve
        await wait(pilot, lambda: 0 < frames_of(table, "VAR-0007") < 24, what="fewer frames")
        frames = frames_of(table, "VAR-0007")
        await wait(pilot, lambda: len(view.curve.fused) < 12, what="the shorter curve")
        assert sum(f.n for f in view.curve.fused) <= frames
        await at(total)                            # and forward again: as before
        await wait(pilot, lambda: frames_of(table, "VAR-0007") == 24, what="every frame again")
        await wait(pilot, lambda: len(view.curve.fused) == 12, what="the whole curve again")
