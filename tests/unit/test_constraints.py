"""The constraints plugin: each hard limit rejects with its value, and agrees with astroplan."""

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from control_center.plugin_api import Conditions
from control_center.plugin_host.testing import CLEAR, candidate, decision_context
from plugins.constraints import Constraints

NOW = datetime(2026, 3, 22, 2, 0, tzinfo=UTC)   # dark at La Palma


def rejections(context, candidates, plugin=None):
    plugin = plugin or Constraints()
    return {r.candidate: r for r in plugin.openastro_filter(context=context,
                                                             candidates=candidates)}


def test_rejects_with_constraint_value_and_limit():
    context = decision_context(telescope="palma-1m", now=NOW)
    below = candidate("south", ra_deg=100.0, dec_deg=-85.0)         # never rises at +28.8
    wrong_filter = candidate("filt", filter="B")                     # palma-1m has no B
    out = rejections(context, [below, wrong_filter])
    assert out["south/r"].constraint == "altitude"
    assert out["south/r"].value < out["south/r"].limit
    assert out["filt/B"].constraint == "instrument"
    assert out["filt/B"].value == "B"


def test_weather_and_seeing_reject_everything_but_calibrations():
    closed = replace(CLEAR, open=False, reason="humidity 0.92 > 0.85")
    context = decision_context(telescope="palma-1m", now=NOW, conditions=closed)
    out = rejections(context, [candidate("a"), candidate("b", kind="calibration")])
    assert out["a/r"].constraint == "weather"
    assert out["a/r"].value == "humidity 0.92 > 0.85"
    poor = replace(CLEAR, seeing_arcsec=4.2)
    out = rejections(decision_context(telescope="palma-1m", now=NOW, conditions=poor),
                     [candidate("a", ra_deg=180, dec_deg=30)])
    assert out["a/r"].constraint == "seeing"


def test_exclusive_resource_rejects_a_request_being_observed_elsewhere():
    context = decision_context(telescope="palma-1m", now=NOW,
                               busy_targets={"hanle-0.7m": "zenith"})
    lst_ra = _zenith_ra(context)
    out = rejections(context, [candidate("zenith", ra_deg=lst_ra, dec_deg=28.7)])
    assert out["zenith/r"].constraint == "exclusive"


def test_setting_target_is_rejected_when_the_exposure_would_not_fit():
    context = decision_context(telescope="palma-1m", now=NOW)
    plugin = Constraints()
    grid = plugin.grid(context)
    # find a target just above the floor now that sinks below it within an hour
    ras = np.arange(0, 360, 0.5)
    rows = grid.rows(ras, np.full_like(ras, 10.0))
    alt_now, _ = grid.altaz(rows, NOW)
    alt_later = grid.altitude_after(rows, NOW, np.full(len(rows), 3600.0))
    pick = np.where((alt_now > 24.0) & (alt_now < 26.0) & (alt_later < alt_now))[0][0]
    short = candidate("short", ra_deg=ras[pick], dec_deg=10.0, exposure_s=30)
    long = candidate("long", ra_deg=ras[pick], dec_deg=10.0, exposure_s=7200)
    out = rejections(context, [short, long], plugin)
    assert "short/r" not in out
    assert out["long/r"].constraint == "setting"


def _zenith_ra(context):
    from simulator.horizon import HorizonFrame

    site = context.telescope.site
    return HorizonFrame(site.latitude_deg, site.longitude_deg, NOW).local_sidereal_deg(NOW)


@pytest.mark.parametrize("site_telescope", ["pachon-1m", "palma-1m", "hanle-0.7m"])
def test_agrees_with_astroplan_on_random_targets(site_telescope):
    """Altitude, twilight and moon decisions match astroplan's own constraint classes."""
    import astropy.units as u
    from astroplan import (
        AltitudeConstraint,
        AtNightConstraint,
        MoonSeparationConstraint,
        Observer,
    )
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    from control_center.astro import configure_offline

    configure_offline()
    rng = np.random.default_rng(7)
    ra = rng.uniform(0, 360, 150)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 150)))
    for hour in (20, 23, 2, 5):
        now = datetime(2026, 3, 21 if hour > 12 else 22, hour, 0, tzinfo=UTC)
        context = decision_context(telescope=site_telescope, now=now,
                                   conditions=Conditions(0, 0.3, 4, 1.0, 21.5, True))
        site, scope = context.telescope.site, context.telescope.telescope
        plugin = Constraints()
        plugin.limits = replace(plugin.limits, max_airmass=99.0)   # isolate altitude
        cands = [candidate(f"t{i}", ra_deg=r, dec_deg=d, exposure_s=1, filter=scope.filters[0])
                 for i, (r, d) in enumerate(zip(ra, dec, strict=True))]
        out = rejections(context, cands, plugin)

        observer = Observer(location=site.location)
        targets = SkyCoord(ra * u.deg, dec * u.deg)
        t = Time(now)
        night = AtNightConstraint.twilight_nautical()(observer, targets, times=t)
        altaz = observer.altaz(t, targets)
        floor = plugin.grid(context).horizon_limit(altaz.az.deg, scope.min_altitude_deg)
        above = altaz.alt.deg >= floor
        if not site.horizon:
            assert np.array_equal(
                above, AltitudeConstraint(min=scope.min_altitude_deg * u.deg)(observer, targets, t))
        illumination = float(observer.moon_illumination(t))
        moon_limit = plugin.limits.moon_separation(illumination)
        moon_up = observer.moon_altaz(t).alt.deg > 0
        far_from_moon = MoonSeparationConstraint(min=moon_limit * u.deg)(observer, targets, t)
        separation = observer.moon_altaz(t).separation(altaz).deg
        checked = 0
        for i, c in enumerate(cands):
            r = out.get(c.key)
            if not np.all(night):
                assert r is not None and r.constraint == "twilight"
                continue
            if abs(altaz.alt.deg[i] - floor[i]) < 0.5 or abs(separation[i] - moon_limit) < 0.5:
                continue   # within interpolation error of a limit
            assert (r is not None and r.constraint in ("altitude", "setting")) == (not above[i])
            if above[i] and r is not None and r.constraint in ("altitude", "setting"):
                continue
            if above[i]:
                assert (r is not None and r.constraint == "moon") == (moon_up and
                                                                       not far_from_moon[i])
            checked += 1
        assert checked > 100 or not np.all(night)
