"""A night's observable windows agree with astroplan's constraint classes, sample by sample."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from control_center.network import Climate, Network, Site, Telescope, load_network
from plugins.constraints import Limits
from plugins.constraints.visibility import (
    Target,
    airmass_altitude_deg,
    network_visibility,
    night_of,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::astropy.coordinates.NonRotationTransformationWarning")

TOL_DEG = 0.02
"""Samples this close to a limit are not compared (edges are interpolated to the second)."""
MOON_LIMIT_DEG = 50.0
LIMITS = Limits(moon_min_separation_deg=MOON_LIMIT_DEG, moon_separation_per_illumination_deg=0.0)
"""A Moon distance that does not vary with the phase, so that one MoonSeparationConstraint
checks a whole night."""


def _random_network(rng, n_sites):
    sites = []
    for i in range(n_sites):
        scope = Telescope(f"t{i}", 1.0, 20.0, ("r",), slew_rate_deg_s=3.0, readout_s=10.0,
                          min_altitude_deg=float(rng.uniform(10, 35)))
        sites.append(Site(f"s{i}", float(rng.uniform(-65, 65)), float(rng.uniform(-180, 180)),
                          float(rng.uniform(0, 4500)), Climate(0.8, 1.0), (scope,)))
    return Network("random", tuple(sites))


def _astroplan_grid(site, scope, targets, times):
    """astroplan's verdicts and values for every target (rows) at every time (columns)."""
    import astropy.units as u
    from astroplan import (
        AirmassConstraint,
        AltitudeConstraint,
        AtNightConstraint,
        MoonSeparationConstraint,
        Observer,
    )
    from astropy.coordinates import SkyCoord

    observer = Observer(location=site.location)
    coords = SkyCoord([t.ra_deg for t in targets] * u.deg, [t.dec_deg for t in targets] * u.deg)
    grid = {"grid_times_targets": True}
    altaz = observer.altaz(times, coords, **grid)
    moon = observer.moon_altaz(times)
    return {
        "dark": AtNightConstraint(max_solar_altitude=LIMITS.twilight_sun_alt_deg * u.deg)(
            observer, coords, times, **grid),
        "above": AltitudeConstraint(min=scope.min_altitude_deg * u.deg)(
            observer, coords, times, **grid),
        "secz_ok": AirmassConstraint(max=LIMITS.max_airmass)(observer, coords, times, **grid),
        "far_from_moon": MoonSeparationConstraint(min=MOON_LIMIT_DEG * u.deg)(
            observer, coords, times, **grid),
        "alt": altaz.alt.deg,
        "sun_alt": observer.sun_altaz(times).alt.deg,
        "moon_alt": moon.alt.deg,
        "separation": moon[None, :].separation(altaz).deg,
    }


def _near_quarter_moon(day: date) -> date:
    """The first day from ``day`` with the Moon 40-70 % lit: up for part of the night only."""
    from astroplan import moon_illumination
    from astropy.time import Time

    while not 0.4 <= moon_illumination(Time(datetime.combine(day, datetime.min.time()))) <= 0.7:
        day += timedelta(days=1)
    return day


def _near_the_moon(day: date, rng) -> list[Target]:
    """Targets 20-70 deg from the Moon at midnight UTC after ``day``."""
    import astropy.units as u
    from astropy.coordinates import get_body
    from astropy.time import Time

    moon = get_body("moon", Time(datetime.combine(day, datetime.min.time(), tzinfo=UTC)
                                 + timedelta(days=1))).icrs
    out = []
    for i, (angle, distance) in enumerate(zip(rng.uniform(0, 360, 8), [20, 30, 40, 45, 55,
                                                                       60, 65, 70], strict=True)):
        p = moon.directional_offset_by(angle * u.deg, distance * u.deg)
        out.append(Target(f"moon{i}", float(p.ra.deg), float(p.dec.deg)))
    return out


def _observable(vis, when: datetime) -> bool:
    return any(w.start <= when <= w.end for w in vis.windows)


@pytest.mark.parametrize("seed", [4, 5])
def test_windows_agree_with_astroplan_on_random_sites_and_targets(seed):
    from astropy.time import Time

    rng = np.random.default_rng(seed)
    network = _random_network(rng, 2)
    day = _near_quarter_moon(date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 700))))
    n = 20
    targets = [Target(f"x{i}", float(r), float(d)) for i, (r, d) in enumerate(zip(
        rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n))), strict=True))]
    targets += _near_the_moon(day, rng)
    n = len(targets)
    table = network_visibility(network, targets, day, limits=LIMITS, step_s=60.0)
    assert len(table) == n * len(network.sites)
    ky_alt = airmass_altitude_deg(LIMITS.max_airmass)
    secz_alt = float(np.degrees(np.arcsin(1 / LIMITS.max_airmass)))
    compared = observable = moon_blocked = moon_set = 0
    for site in network.sites:
        scope = site.telescopes[0]
        start, _ = night_of(site, day)
        samples = [start + timedelta(minutes=5 * k) for k in range(288)]
        ref = _astroplan_grid(site, scope, targets, Time(samples))
        rows = {v.target.name: v for v in table if v.site == site.name}
        for i, target in enumerate(targets):
            vis = rows[target.name]
            for k, when in enumerate(samples):
                alt, sun, moon_alt = ref["alt"][i, k], ref["sun_alt"][k], ref["moon_alt"][k]
                if (abs(sun - LIMITS.twilight_sun_alt_deg) < TOL_DEG
                        or abs(alt - scope.min_altitude_deg) < TOL_DEG
                        or ky_alt - TOL_DEG < alt < secz_alt + TOL_DEG
                        or abs(moon_alt) < TOL_DEG
                        or abs(ref["separation"][i, k] - MOON_LIMIT_DEG) < TOL_DEG):
                    continue
                expected = bool(ref["dark"][i, k] and ref["above"][i, k]
                                and ref["secz_ok"][i, k]
                                and (moon_alt < 0 or ref["far_from_moon"][i, k]))
                assert _observable(vis, when) == expected, (site, target, when)
                compared += 1
                observable += expected
                if ref["dark"][i, k] and ref["above"][i, k] and not ref["far_from_moon"][i, k]:
                    moon_blocked += moon_alt > 0
                    moon_set += moon_alt < 0
    assert compared > 0.95 * 2 * n * 288
    assert observable > 200
    assert moon_blocked > 0 and moon_set > 0       # the Moon decided, up and down


def test_window_hours_and_highest_altitude_match_astroplan():
    import astropy.units as u
    from astroplan import Observer
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    network = load_network()
    m13 = Target("M13", 250.4217, 36.4599)
    [vis] = network_visibility(network, [m13], date(2026, 3, 21), telescopes=["palma-1m"])
    [window] = vis.windows
    site = network.site("la-palma")
    start, _ = night_of(site, date(2026, 3, 21))
    minutes = [start + timedelta(minutes=k) for k in range(24 * 60 + 1)]
    alt = Observer(location=site.location).altaz(
        Time(minutes), SkyCoord(m13.ra_deg * u.deg, m13.dec_deg * u.deg)).alt.deg
    inside = [a for a, t in zip(alt, minutes, strict=True) if window.start <= t <= window.end]
    assert window.max_altitude_deg == pytest.approx(max(inside), abs=0.01)
    assert window.hours == pytest.approx(len(inside) / 60.0, abs=2 / 60.0)
    assert window.start.tzinfo is not None


def test_night_of_is_local_noon_to_noon():
    palma = load_network().site("la-palma")
    start, end = night_of(palma, date(2026, 3, 21))
    assert end - start == timedelta(days=1)
    # mean solar noon at longitude -17.88: 1 h 11.5 min after 12:00 UTC
    assert start == datetime(2026, 3, 21, 12, tzinfo=UTC) + timedelta(hours=17.8816 / 15)
    east_of_greenwich = Site("x", 0.0, 342.1184, 0.0, Climate(0.8, 1.0), palma.telescopes)
    assert night_of(east_of_greenwich, date(2026, 3, 21)) == (start, end)


def test_blocked_by_names_what_rules_a_target_out():
    network = load_network()
    targets = [Target("polaris", 37.95, 89.26),                      # below Chile's horizon
               Target("u-band", 204.25, -29.87, filter="u"),
               Target("late", 204.25, -29.87,
                      not_before=datetime(2026, 3, 23, tzinfo=UTC))]
    table = network_visibility(network, targets, date(2026, 3, 21),
                               telescopes=["pachon-1m", "palma-1m"])
    got = {(v.target.name, v.telescope): (v.blocked_by, len(v.windows)) for v in table}
    assert got[("polaris", "pachon-1m")] == ("altitude", 0)
    assert got[("u-band", "pachon-1m")] == ("instrument", 0)
    assert got[("u-band", "palma-1m")][1] >= 1
    assert got[("late", "pachon-1m")] == ("not-before", 0)


def test_time_window_clips_the_windows():
    network = load_network()
    target = Target("M83", 204.25, -29.87)
    [full] = network_visibility(network, [target], date(2026, 3, 21), telescopes=["pachon-1m"])
    [window] = full.windows
    middle = window.start + (window.end - window.start) / 2
    clipped = Target("M83", 204.25, -29.87, not_after=middle)
    [vis] = network_visibility(network, [clipped], date(2026, 3, 21), telescopes=["pachon-1m"])
    assert [(w.start, w.end) for w in vis.windows] == [(window.start, middle)]


def test_calibrations_are_not_held_to_twilight_or_the_moon():
    network = load_network()
    field = {"ra_deg": 150.0, "dec_deg": 20.0}
    science, calibration = network_visibility(
        network, [Target("sci", **field), Target("cal", kind="calibration", **field)],
        date(2026, 3, 21), telescopes=["palma-1m"])
    assert calibration.hours > science.hours
    assert calibration.windows[0].start < science.windows[0].start
