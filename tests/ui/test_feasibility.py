"""The Queue view's feasibility: now (Sun, altitude, weather, window) and later tonight.

The test night (``logbuilder.demo_log``) runs 23:00-01:00 UTC on 2026-03-21;
its log ends at 23:20. The targets sit at RA 150, Dec -20: on the meridian at
La Palma then (altitude ~41 deg, dark), in nautical twilight at Cerro Pachón
(dark from ~23:50), below the horizon at Hanle (whose dome is closed).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import numpy as np
from logbuilder import START, LogBuilder, demo_log
from ui_helpers import caught_up, console, until

from control_center import astro
from control_center.eventlog import EventLog
from control_center.network import load_network
from control_center.ui.model import LogFollower
from control_center.ui.views.live_table import LiveTable


def feasibility(db) -> dict:
    follower = LogFollower(str(db))
    follower.feasibility = True
    while follower.poll().more:
        pass
    return follower.snapshot().feasibility


def test_now_and_later_tonight_follow_the_sky_and_the_weather(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    demo_log(db)
    with EventLog.open(db, durable=False) as log:
        b = LogBuilder(log)
        b.request("late-window", minutes=20, not_before=START + timedelta(minutes=90))
        b.request("south-low", minutes=20, ra_deg=330.0, dec_deg=-60.0)
    f = feasibility(db)
    ngc = f["galaxies-NGC1234"]
    assert ngc.now_ok and ngc.now == "ok: la-palma" and ngc.later == "until 01:00"
    assert "cerro-pachon: twilight; tonight 23:50-01:00" in ngc.detail
    assert "hanle: below horizon; tonight none" in ngc.detail
    late = f["late-window"]
    assert not late.now_ok and late.now == "outside its window"
    assert late.later == "00:30-01:00 cerro-pachon +1"        # and la-palma
    south = f["south-low"]           # never up from La Palma or Hanle; at Pachón near its
    assert not south.now_ok and south.now == "below horizon"      # lower culmination
    assert south.later == "not tonight" and "cerro-pachon: twilight" in south.detail

    with EventLog.open(db, durable=False) as log:             # clouds over La Palma
        LogBuilder(log).conditions("la-palma", 21, open=False, cloud=0.95,
                                   reason="cloud cover 0.95 > 0.7")
    ngc = feasibility(db)["galaxies-NGC1234"]
    assert not ngc.now_ok and ngc.now == "weather"
    assert ngc.later == "23:50-01:00 cerro-pachon"
    assert "la-palma: weather: cloud cover 0.95 > 0.7" in ngc.detail
    assert "galaxies-NGC1234" in f and "alert:SWIFT-1234" in f


def test_the_altitudes_agree_with_astropy(tmp_path: Path) -> None:
    """The grid (a fast horizon frame) against astropy's AltAz at the same times."""
    from control_center.ui.model.feasibility import FeasibilityModel

    demo_log(tmp_path / "n.db")
    follower = LogFollower(str(tmp_path / "n.db"))
    while follower.poll().more:
        pass
    state, model = follower.state, FeasibilityModel()
    model.evaluate(state.network.night, state.network.network, state.sim_time,
                   [("x", 150.0, -20.0, None, None)], state.network.site_states())
    for site in state.network.network.sites:
        want, _ = astro.altaz_grid(site.location, np.array([150.0]), np.array([-20.0]),
                                   model._times)
        got = np.array(model._alt["x"][site.name][0])
        assert np.max(np.abs(got - want[0])) < 0.05, site.name
    palma = next(s for s in load_network().sites if s.name == "la-palma")
    alt, _ = astro.altaz_grid(palma.location, np.array([150.0]), np.array([-20.0]),
                              [START + timedelta(minutes=20)])
    assert 35 < alt[0, 0] < 45          # "ok at La Palma" is the real sky


def test_the_queue_view_shows_now_and_later(demo_db) -> None:
    db, _ = demo_db

    async def scenario() -> None:
        app = console(db)
        async with app.run_test(size=(140, 30)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("4")
            await until(pilot, lambda: app.snapshot.feasibility, timeout=60,
                        what="feasibility")
            table = app.query_one("#queue-table", LiveTable)
            await until(pilot, lambda: "ok: la-palma" in str(table.get_row("galaxies-NGC1234")),
                        timeout=30, what="the Now column")
            assert "until 01:00" in str(table.get_row("galaxies-NGC1234"))
            summary = str(app.query_one("#queue-summary").render())
            assert "3 observable now" in summary
            table.move_cursor(row=table.keys.index("galaxies-NGC1234"))
            await until(pilot, lambda: "cerro-pachon: twilight" in str(
                app.query_one("#request-detail").render()), timeout=15, what="the detail")

    asyncio.run(scenario())
