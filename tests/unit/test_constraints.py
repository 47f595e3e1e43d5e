"""The constraints plugin: each hard limit rejects with its value, and agrees with astroplan."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from control_center.network import Climate, Network, Site, Telescope, load_network
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import CLEAR, candidate, decision_context
from plugins.constraints import CONSTRAINTS, Constraints, Limits
from plugins.constraints.ephemeris import to_seconds
from plugins.constraints.visibility import airmass_altitude_deg
from simulator.telescope import expected_duration_s

pytestmark = pytest.mark.filterwarnings(
    "ignore::astropy.coordinates.NonRotationTransformationWarning")

NOW = datetime(2026, 3, 22, 2, 0, tzinfo=UTC)   # dark at La Palma
FULL_MOON_NIGHT = datetime(2026, 4, 2, 1, 0, tzinfo=UTC)   # Moon high and full at La Palma


def rejections(context, candidates, plugin=None):
    plugin = plugin or Constraints()
    return {r.candidate: r for r in plugin.openastro_filter(context=context,
                                                             candidates=candidates)}


def _zenith(context):
    """RA, Dec of the zenith of the deciding telescope at ``context.now``."""
    from simulator.horizon import HorizonFrame

    site = context.telescope.site
    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, context.now)
    return frame.local_sidereal_deg(context.now), site.latitude_deg


def test_rejects_with_constraint_value_and_limit():
    context = decision_context(telescope="palma-1m", now=NOW)
    below = candidate("south", ra_deg=100.0, dec_deg=-85.0)         # never rises at +28.8
    wrong_filter = candidate("filt", filter="B")                     # palma-1m has no B
    out = rejections(context, [below, wrong_filter])
    assert out["south/r"].constraint == "altitude"
    assert out["south/r"].value < out["south/r"].limit
    assert out["filt/B"].constraint == "instrument"
    assert out["filt/B"].value == "B"
    assert out["filt/B"].limit == "u|g|r|i|z"


def test_impossible_coordinates_are_rejected_not_computed():
    context = decision_context(telescope="palma-1m", now=NOW)
    out = rejections(context, [candidate("nan", ra_deg=float("nan")),
                               candidate("pole", dec_deg=91.0), candidate("fine")])
    assert out["nan/r"].constraint == "coordinates" and "nan" in out["nan/r"].value
    assert out["pole/r"].value == "ra 150.0, dec 91.0"
    assert sorted(k for k, r in out.items() if r.constraint == "coordinates") == [
        "nan/r", "pole/r"]


@pytest.mark.parametrize(("field", "value", "constraint", "limit"), [
    ("cloud_cover", 0.82, "cloud-cover", 0.7),
    ("humidity", 0.92, "humidity", 0.85),
    ("wind_m_s", 18.4, "wind", 15.0),
])
def test_weather_rejection_names_the_measurement_and_its_value(field, value, constraint, limit):
    bad = replace(CLEAR, open=False, reason="dome closed by the site", **{field: value})
    context = decision_context(telescope="palma-1m", now=NOW, conditions=bad)
    ra, dec = _zenith(context)
    out = rejections(context, [candidate("a", ra_deg=ra, dec_deg=dec),
                               candidate("flat", ra_deg=ra, dec_deg=dec, kind="calibration")])
    for key in ("a/r", "flat/r"):        # weather closes the dome for calibrations too
        assert (out[key].constraint, out[key].value, out[key].limit) == (constraint, value, limit)


def test_closed_for_another_reason_records_the_sites_reason():
    hold = replace(CLEAR, open=False, reason="safety hold until 02:30 UTC after wind 16 m/s")
    context = decision_context(telescope="palma-1m", now=NOW, conditions=hold)
    ra, dec = _zenith(context)
    [r] = rejections(context, [candidate("a", ra_deg=ra, dec_deg=dec)]).values()
    assert (r.constraint, r.value, r.limit) == ("weather", hold.reason, "open")


def test_weather_limits_are_configurable():
    humid = replace(CLEAR, humidity=0.88)
    context = decision_context(telescope="palma-1m", now=NOW, conditions=humid)
    ra, dec = _zenith(context)
    field = candidate("a", ra_deg=ra, dec_deg=dec)
    assert rejections(context, [field])["a/r"].constraint == "humidity"
    assert rejections(context, [field], Constraints(Limits(max_humidity=0.9))) == {}


def test_seeing_limit_depends_on_the_kind():
    context = decision_context(telescope="palma-1m", now=NOW,
                               conditions=replace(CLEAR, seeing_arcsec=4.2))
    ra, dec = _zenith(context)
    kinds = ("science", "survey", "opportunistic", "calibration")
    fields = [candidate(k, ra_deg=ra, dec_deg=dec, kind=k) for k in kinds]
    out = rejections(context, fields)
    assert {k: (r.constraint, r.value, r.limit) for k, r in out.items()} == {
        "science/r": ("seeing", 4.2, 3.5), "survey/r": ("seeing", 4.2, 3.5)}
    worse = replace(context, conditions=replace(CLEAR, seeing_arcsec=5.6))
    out = rejections(worse, fields)
    assert out["opportunistic/r"].limit == 5.0
    assert "calibration/r" not in out


def test_calibrations_are_exempt_from_twilight():
    dusk = datetime(2026, 3, 21, 19, 45, tzinfo=UTC)
    context = decision_context(telescope="palma-1m", now=dusk)
    plugin = Constraints()
    sun_alt = float(plugin.sky(context).sun_altitude(to_seconds(dusk)))
    assert -12 < sun_alt < 0
    ra, dec = _zenith(context)
    out = rejections(context, [candidate("sci", ra_deg=ra, dec_deg=dec),
                               candidate("flat", ra_deg=ra, dec_deg=dec, kind="calibration")],
                     plugin)
    assert (out["sci/r"].constraint, out["sci/r"].limit) == ("twilight", -12.0)
    assert out["sci/r"].value == pytest.approx(sun_alt, abs=0.01)
    assert "flat/r" not in out


def test_moon_distance_grows_with_illumination_and_spares_calibrations():
    import astropy.units as u
    from astropy.coordinates import get_body
    from astropy.time import Time

    context = decision_context(telescope="palma-1m", now=FULL_MOON_NIGHT)
    site = context.telescope.site
    moon = get_body("moon", Time(FULL_MOON_NIGHT), site.location)
    near = moon.directional_offset_by(0 * u.deg, 12 * u.deg)      # 12 deg north of the Moon
    fields = [candidate(k, ra_deg=near.ra.deg, dec_deg=near.dec.deg, kind=k)
              for k in ("science", "calibration")]
    out = rejections(context, fields)
    r = out["science/r"]
    assert r.constraint == "moon"
    assert r.value == pytest.approx(12.0, abs=0.05)
    assert 38.0 < r.limit <= 40.0               # 10 + 30 x illumination, nearly full
    assert "calibration/r" not in out


def test_time_window_rejects_too_early_and_too_late_with_the_times():
    context = decision_context(telescope="palma-1m", now=NOW)
    ra, dec = _zenith(context)
    base = candidate("w", ra_deg=ra, dec_deg=dec, exposure_s=600)
    early = replace(base, request_id="early", not_before=NOW + timedelta(minutes=30))
    late = replace(base, request_id="late", not_after=NOW + timedelta(minutes=5))
    inside = replace(base, request_id="inside", not_before=NOW - timedelta(minutes=1),
                     not_after=NOW + timedelta(hours=1))
    out = rejections(context, [early, late, inside])
    assert (out["early/r"].constraint, out["early/r"].value, out["early/r"].limit) == (
        "not-before", "2026-03-22T02:00:00+00:00", "2026-03-22T02:30:00+00:00")
    assert out["late/r"].constraint == "not-after"
    assert out["late/r"].limit == "2026-03-22T02:05:00+00:00"
    assert datetime.fromisoformat(out["late/r"].value) > NOW + timedelta(minutes=10)
    assert "inside/r" not in out


def test_first_broken_constraint_is_the_one_recorded():
    assert CONSTRAINTS.index("instrument") < CONSTRAINTS.index("not-before") < CONSTRAINTS.index(
        "twilight") < CONSTRAINTS.index("humidity") < CONSTRAINTS.index("altitude")
    humid = replace(CLEAR, humidity=0.95)
    context = decision_context(telescope="palma-1m", now=NOW, conditions=humid)
    below_and_wrong = candidate("x", ra_deg=100.0, dec_deg=-85.0, filter="B")
    below = candidate("y", ra_deg=100.0, dec_deg=-85.0)
    early_below = replace(below, request_id="z", not_before=NOW + timedelta(hours=1))
    out = rejections(context, [below_and_wrong, below, early_below])
    assert [out[k].constraint for k in ("x/B", "y/r", "z/r")] == [
        "instrument", "humidity", "not-before"]
    assert len(out) == 3


def test_exclusive_resource_rejects_a_request_being_observed_elsewhere():
    context = decision_context(telescope="palma-1m", now=NOW,
                               busy_targets={"hanle-0.7m": "zenith"})
    ra, dec = _zenith(context)
    out = rejections(context, [candidate("zenith", ra_deg=ra, dec_deg=dec),
                               candidate("other", ra_deg=ra, dec_deg=dec)])
    assert (out["zenith/r"].constraint, out["zenith/r"].value) == ("exclusive", "zenith")
    assert "other/r" not in out


def _setting_field(context, plugin, *, alt_range, dec=10.0):
    """A target now within ``alt_range`` that sinks within the hour."""
    sky = plugin.sky(context)
    ras = np.arange(0, 360, 0.25)
    vectors = sky.of_date(sky.ephemeris.target_vectors(ras, np.full_like(ras, dec)))
    now = to_seconds(context.now)
    alt_now, _ = sky.altaz(vectors, now)
    alt_later, _ = sky.altaz(vectors, now + 3600.0)
    pick = np.flatnonzero((alt_now > alt_range[0]) & (alt_now < alt_range[1])
                          & (alt_later < alt_now))[0]
    return float(ras[pick])


def test_setting_target_is_rejected_when_the_exposure_would_not_fit():
    context = decision_context(telescope="palma-1m", now=NOW)
    plugin = Constraints()
    ra = _setting_field(context, plugin, alt_range=(24.0, 26.0))
    short = candidate("short", ra_deg=ra, dec_deg=10.0, exposure_s=30)
    long = candidate("long", ra_deg=ra, dec_deg=10.0, exposure_s=7200)
    out = rejections(context, [short, long], plugin)
    assert "short/r" not in out
    assert out["long/r"].constraint == "setting"
    assert out["long/r"].value < out["long/r"].limit == 20.0


def _one_site_network(*, horizon=(), telescope=None, latitude=28.76, longitude=-17.88):
    scope = telescope or Telescope("t", 1.0, 20.0, ("r",), slew_rate_deg_s=3.0, readout_s=10.0)
    site = Site("s", latitude, longitude, 2000.0, Climate(0.8, 1.0), (scope,),
                horizon=tuple(horizon))
    return Network("test", (site,))


def test_horizon_map_is_checked_along_the_track():
    """A target clear of a wall now but behind it before the exposure ends is rejected."""
    wall = ((0.0, 0.0), (240.0, 0.0), (245.0, 70.0), (300.0, 70.0), (305.0, 0.0))
    network = _one_site_network(horizon=wall)
    context = decision_context(network=network, now=NOW)
    plugin = Constraints()
    sky = plugin.sky(context)
    rng = np.random.default_rng(3)
    ra, dec = rng.uniform(0, 360, 4000), rng.uniform(-30, 80, 4000)
    vectors = sky.of_date(sky.ephemeris.target_vectors(ra, dec))
    now = to_seconds(NOW)
    alt0, az0 = sky.altaz(vectors, now)
    alt1, az1 = sky.altaz(vectors, now + 1800.0)
    pick = np.flatnonzero((az0 > 228) & (az0 < 239.5) & (az1 > 246) & (az1 < 295)
                          & (alt0 > 25) & (alt1 > 25) & (alt1 < 65))[0]
    field = candidate("wall", ra_deg=ra[pick], dec_deg=dec[pick], exposure_s=1800)
    quick = replace(field, request_id="quick", exposure_s=30)
    out = rejections(context, [field, quick], plugin)
    assert out["wall/r"].constraint == "setting"
    assert out["wall/r"].limit > 60.0             # the wall, not the telescope's 20 deg
    assert "quick/r" not in out


def test_a_telescope_horizon_raises_the_limit():
    """A telescope may carry a horizon map of its own (e.g. a dome slit or a neighbour)."""

    @dataclass(frozen=True)
    class ScopeWithHorizon(Telescope):
        horizon: tuple = ()

    scope = ScopeWithHorizon("t", 1.0, 20.0, ("r",), slew_rate_deg_s=3.0, readout_s=10.0,
                             horizon=((0.0, 80.0), (359.0, 80.0)))
    context = decision_context(network=_one_site_network(telescope=scope), now=NOW)
    ra, dec = _zenith(context)
    tilted = candidate("tilted", ra_deg=ra, dec_deg=dec - 30.0)     # ~60 deg up
    out = rejections(context, [tilted, candidate("zenith", ra_deg=ra, dec_deg=dec)])
    assert (out["tilted/r"].constraint, out["tilted/r"].limit) == ("altitude", 80.0)
    assert "zenith/r" not in out


def test_limits_reject_unknown_constraint_names():
    with pytest.raises(ValueError, match="twilite"):
        Limits(exempt_by_kind=(("calibration", ("twilite",)),))
    with pytest.raises(ValueError, match="max_airmass"):
        Limits(max_airmass=0)


def test_one_ephemeris_per_night_for_every_site():
    plugin = Constraints()
    network = load_network()
    a = decision_context(telescope="palma-1m", now=NOW)
    b = decision_context(telescope="hanle-0.7m", now=NOW)
    plugin.openastro_night_started(a.night)
    assert plugin.sky(a).ephemeris is plugin.sky(b).ephemeris
    assert plugin.sky(a).site.name == "la-palma" and plugin.sky(b).site.name == "hanle"
    next_night = decision_context(telescope="palma-1m", now=NOW + timedelta(days=1))
    first = plugin.sky(a).ephemeris
    plugin.openastro_night_started(next_night.night)
    assert plugin.sky(next_night).ephemeris is not first
    assert len(network.sites) == 3


def test_through_the_plugin_host_with_many_candidates():
    failures = []
    with PluginHost.discover(enabled=["constraints"], on_failure=failures.append) as host:
        context = decision_context(telescope="pachon-1m", now=NOW)
        rng = np.random.default_rng(11)
        fields = [candidate(f"f{i}", ra_deg=r, dec_deg=d, filter=f)
                  for i, (r, d, f) in enumerate(zip(rng.uniform(0, 360, 3000),
                                                    rng.uniform(-90, 90, 3000),
                                                    rng.choice(list("grizB"), 3000),
                                                    strict=True))]
        [(name, out)] = host.call_all("openastro_filter", context=context, candidates=fields)
    assert failures == []
    assert name == "constraints"
    assert [r.candidate for r in out] == [c.key for c in fields
                                          if c.key in {r.candidate for r in out}]
    kinds = {r.constraint for r in out}
    assert {"instrument", "altitude", "airmass"} <= kinds
    assert all(r.candidate.endswith("/B") for r in out if r.constraint == "instrument")


# -- agreement with astroplan ---------------------------------------------------------------

TOL_DEG = 0.01
"""Values this close to a limit are not compared (our alt-az is within 1" of astropy's)."""


def _random_network(rng, n_sites):
    sites = []
    for i in range(n_sites):
        scope = Telescope(f"t{i}", 1.0, 20.0, ("r",), slew_rate_deg_s=3.0, readout_s=10.0,
                          min_altitude_deg=float(rng.uniform(10, 35)))
        sites.append(Site(f"s{i}", float(rng.uniform(-65, 65)), float(rng.uniform(-180, 180)),
                          float(rng.uniform(0, 4500)), Climate(0.8, 1.0), (scope,)))
    return Network("random", tuple(sites))


def _astroplan_verdicts(site, scope, ra, dec, when, limits, duration_s):
    """What astroplan's constraint classes say, with the margins to each limit."""
    import astropy.units as u
    from astroplan import (
        AirmassConstraint,
        AltitudeConstraint,
        AtNightConstraint,
        MoonSeparationConstraint,
        Observer,
    )
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    observer = Observer(location=site.location)
    targets = SkyCoord(ra * u.deg, dec * u.deg)
    t = Time(when)
    floor = scope.min_altitude_deg * u.deg
    illumination = float(observer.moon_illumination(t))
    moon_limit = limits.moon_separation(illumination)
    alt = observer.altaz(t, targets).alt.deg
    moon = observer.moon_altaz(t)
    ends = t + np.asarray(duration_s) * u.s          # element-wise with the targets
    return {
        "dark": bool(AtNightConstraint(max_solar_altitude=limits.twilight_sun_alt_deg * u.deg)(
            observer, targets[:1], times=t)[0]),
        "sun_alt": float(observer.sun_altaz(t).alt.deg),
        "alt": alt,
        "above": AltitudeConstraint(min=floor)(observer, targets, t),
        "secz_ok": AirmassConstraint(max=limits.max_airmass)(observer, targets, t),
        "far_from_moon": MoonSeparationConstraint(min=moon_limit * u.deg)(observer, targets, t),
        "separation": moon.separation(observer.altaz(t, targets)).deg,
        "moon_limit": moon_limit,
        "moon_alt": float(moon.alt.deg),
        "above_at_end": AltitudeConstraint(min=floor)(observer, targets, ends),
        "alt_at_end": observer.altaz(ends, targets).alt.deg,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agrees_with_astroplan_on_random_sites_and_targets(seed):
    """Twilight, altitude, airmass, Moon and setting verdicts match astroplan's classes."""
    rng = np.random.default_rng(seed)
    network = _random_network(rng, 2)
    limits = Limits()
    ky_alt = airmass_altitude_deg(limits.max_airmass)          # Kasten & Young 2.5: 23.4 deg
    secz_alt = float(np.degrees(np.arcsin(1 / limits.max_airmass)))   # astroplan's: 23.6 deg
    compared = {"twilight": 0, "altitude": 0, "airmass": 0, "moon": 0, "setting": 0, "ok": 0}
    day = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=int(rng.integers(0, 700)))
    for site in network.sites:
        scope = site.telescopes[0]
        midnight = (-site.longitude_deg / 15.0) % 24.0        # local mean midnight, UTC
        hours = [*(midnight + rng.uniform(-4.5, 4.5, 3)), rng.uniform(0, 24)]
        for hour in hours:
            now = (day + timedelta(hours=float(hour))).replace(microsecond=0)
            context = decision_context(network=network, telescope=scope.name, now=now)
            n = 120
            ra = rng.uniform(0, 360, n)
            dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
            fields = [candidate(f"t{i}", ra_deg=r, dec_deg=d, exposure_s=float(e))
                      for i, (r, d, e) in enumerate(zip(ra, dec, rng.uniform(1, 3600, n),
                                                        strict=True))]
            out = rejections(context, fields, Constraints(limits))
            duration = expected_duration_s(scope, None, None, None, ra, dec, ["r"] * n,
                                           [c.exposure_s for c in fields])
            ref = _astroplan_verdicts(site, scope, ra, dec, now, limits, duration)
            if abs(ref["sun_alt"] - limits.twilight_sun_alt_deg) < TOL_DEG:
                continue
            if not ref["dark"]:
                assert {r.constraint for r in out.values()} == {"twilight"}
                assert len(out) == n
                compared["twilight"] += n
                continue
            moon_up = ref["moon_alt"] > 0
            for i, c in enumerate(fields):
                alt = ref["alt"][i]
                near = (abs(alt - scope.min_altitude_deg) < TOL_DEG
                        or ky_alt - TOL_DEG < alt < secz_alt + TOL_DEG
                        or abs(ref["separation"][i] - ref["moon_limit"]) < TOL_DEG
                        or abs(ref["alt_at_end"][i] - scope.min_altitude_deg) < TOL_DEG
                        or abs(ref["moon_alt"]) < TOL_DEG)
                if near:
                    continue
                if not ref["above"][i]:
                    expected = "altitude"
                elif not ref["secz_ok"][i]:
                    expected = "airmass"
                elif moon_up and not ref["far_from_moon"][i]:
                    expected = "moon"
                elif not ref["above_at_end"][i]:
                    expected = "setting"
                else:
                    expected = "ok"
                got = out[c.key].constraint if c.key in out else "ok"
                assert got == expected, (site, now, c, ref["alt"][i], ref["separation"][i])
                compared[expected] += 1
    assert sum(compared.values()) > 500
    assert min(compared[k] for k in ("altitude", "airmass", "ok")) > 0


def test_horizon_map_agrees_with_astroplan_altaz():
    """The usable altitude follows the site's horizon map at astroplan's azimuth."""
    import astropy.units as u
    from astroplan import Observer
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    context = decision_context(telescope="pachon-1m", now=NOW)     # Pachón has a horizon map
    site, scope = context.telescope.site, context.telescope.telescope
    rng = np.random.default_rng(5)
    ra, dec = rng.uniform(0, 360, 400), np.degrees(np.arcsin(rng.uniform(-1, 1, 400)))
    fields = [candidate(f"h{i}", ra_deg=r, dec_deg=d, exposure_s=1)
              for i, (r, d) in enumerate(zip(ra, dec, strict=True))]
    plugin = Constraints(Limits(max_airmass=50.0))
    out = rejections(context, fields, plugin)
    altaz = Observer(location=site.location).altaz(Time(NOW), SkyCoord(ra * u.deg, dec * u.deg))
    pts = np.array(site.horizon)
    floor = np.maximum(np.interp(altaz.az.deg, pts[:, 0], pts[:, 1], period=360),
                       scope.min_altitude_deg)
    margin = altaz.alt.deg - floor
    checked = 0
    for i, c in enumerate(fields):
        if abs(margin[i]) < TOL_DEG:
            continue
        got = out.get(c.key)
        assert (got is not None and got.constraint == "altitude") == (margin[i] < 0)
        if got is not None and got.constraint == "altitude":
            assert got.limit == pytest.approx(floor[i], abs=0.02)
        checked += 1
    assert checked > 350
    assert any(f > scope.min_altitude_deg + 3 and m < 0 for f, m in zip(floor, margin,
                                                                          strict=True))
