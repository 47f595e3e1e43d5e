"""The constraints plugin against astroplan's constraint classes on the same inputs.

Usage::

    .venv/bin/python benchmarks/bench_constraints.py [--site la-palma] [--targets 2000]
        [--times 24] [--date 2026-03-27] [--repeat 3] [--seed 1]

Random all-sky targets (seeded) at one site of the shipped network, at
``--times`` instants spread evenly from sunset to sunrise of the site's night
of ``--date`` (so twilight is included), default :class:`Limits`.

Timed (median of ``--repeat``):

- *plugin*: ``Constraints.openastro_filter`` once per instant with every target
  as a candidate (what a decision costs), after ``openastro_night_started``;
- *astroplan, per instant*: ``AtNightConstraint``, ``AltitudeConstraint``,
  ``AirmassConstraint`` and ``MoonSeparationConstraint`` (its minimum set from
  the Moon's illumination at that instant, as the plugin's) on one ``SkyCoord``
  array at one time, plus the Moon's altitude (the plugin applies the Moon limit
  only while the Moon is up);
- *astroplan, all instants at once*: the same on the targets x times grid (the
  Moon constraint still once per instant: its minimum changes with the phase);
- *visibility grid*: ``plugins.constraints.visibility.static_margins`` over the
  same grid (what ``openastro visibility`` computes).

Agreement: for each target and instant, the plugin's verdict (accepted, or the
first of twilight / altitude / airmass / moon that rejects it; a ``setting``
rejection counts as accepted now, since astroplan only looks at the instant)
against the verdict built from astroplan's classes in the same order.
Disagreements are classified: inside the band between the Kasten & Young and
the sec z airmass limits (astroplan's ``AirmassConstraint`` uses sec z), within
0.01 deg of a limit, or other.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta

import numpy as np

from control_center import astro
from control_center.network import load_network
from control_center.plugin_api import Candidate, Conditions, NightPlan
from control_center.plugin_host.testing import decision_context
from plugins.constraints import Constraints, Limits
from plugins.constraints.ephemeris import SpanEphemeris, to_seconds
from plugins.constraints.sky import SiteSky, UsableAltitude
from plugins.constraints.visibility import airmass_altitude_deg, night_of, static_margins

ORDER = ("twilight", "altitude", "airmass", "moon")
CLEAR = Conditions(0.0, 0.3, 4.0, 1.0, 21.5, True)
TOL_DEG = 0.01


def inputs(args):
    network = load_network()
    site = network.site(args.site)
    scope = site.telescopes[0]
    rng = np.random.default_rng(args.seed)
    ra = rng.uniform(0, 360, args.targets)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, args.targets)))
    noon, next_noon = night_of(site, date.fromisoformat(args.date))
    [(start, end)] = astro.dark_intervals(site.location, noon, next_noon, sun_limit_deg=0.0)
    times = [start + (end - start) * (k + 0.5) / args.times for k in range(args.times)]
    times = [t.replace(microsecond=0) for t in times]
    return network, site, scope, ra, dec, times, (noon, next_noon)


def run_plugin(network, site, scope, ra, dec, times, span, limits):
    """Rejections per instant; returns (seconds, verdicts[T][N])."""
    start, end = span
    plan = NightPlan(start, end, network, {s.name: ((start, end),) for s in network.sites})
    plugin = Constraints(limits)
    plugin.openastro_night_started(plan)
    candidates = [Candidate(f"t{i}", f"t{i}", float(r), float(d), scope.filters[0], 1.0, "bench",
                            "science", 1.0) for i, (r, d) in enumerate(zip(ra, dec, strict=True))]
    index = {c.key: i for i, c in enumerate(candidates)}
    contexts = [decision_context(network=network, telescope=scope.name, now=t, conditions=CLEAR)
                for t in times]
    contexts = [_with_night(c, plan) for c in contexts]
    table = np.full((len(times), len(candidates)), "ok", dtype=object)
    elapsed = 0.0
    for k, context in enumerate(contexts):
        t0 = time.perf_counter()
        out = plugin.openastro_filter(context=context, candidates=candidates)
        elapsed += time.perf_counter() - t0
        for r in out:
            table[k, index[r.candidate]] = "ok" if r.constraint == "setting" else r.constraint
        del out
    return elapsed, table


def _with_night(context, plan):
    from dataclasses import replace

    return replace(context, night=plan)


def run_astroplan(site, scope, ra, dec, times, limits, *, grid: bool):
    """astroplan's verdicts in the plugin's order; returns (seconds, verdicts, altitudes)."""
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

    astro.configure_offline()
    observer = Observer(location=site.location)
    targets = SkyCoord(ra * u.deg, dec * u.deg)
    night = AtNightConstraint(max_solar_altitude=limits.twilight_sun_alt_deg * u.deg)
    above = AltitudeConstraint(min=scope.min_altitude_deg * u.deg)
    airmass = AirmassConstraint(max=limits.max_airmass)
    t0 = time.perf_counter()
    if grid:
        t = Time(times)
        ok = {"twilight": night(observer, targets, t, grid_times_targets=True).T,
              "altitude": above(observer, targets, t, grid_times_targets=True).T,
              "airmass": airmass(observer, targets, t, grid_times_targets=True).T}
        ok["moon"] = np.stack([_moon_ok(observer, targets, Time(w), limits,
                                        MoonSeparationConstraint) for w in times])
        altaz = observer.altaz(t, targets, grid_times_targets=True)
        alt, az = altaz.alt.deg.T, altaz.az.deg.T
    else:
        rows = {c: [] for c in ORDER}
        alts, azs = [], []
        for w in times:
            t = Time(w)
            rows["twilight"].append(night(observer, targets, t))
            rows["altitude"].append(above(observer, targets, t))
            rows["airmass"].append(airmass(observer, targets, t))
            rows["moon"].append(_moon_ok(observer, targets, t, limits, MoonSeparationConstraint))
            altaz = observer.altaz(t, targets)
            alts.append(altaz.alt.deg)
            azs.append(altaz.az.deg)
        ok = {c: np.stack(v) for c, v in rows.items()}
        alt, az = np.stack(alts), np.stack(azs)
    if site.horizon:          # astroplan has no horizon map: its alt-az against the map
        pts = np.array(site.horizon)
        floor = np.maximum(np.interp(az, pts[:, 0], pts[:, 1], period=360.0),
                           scope.min_altitude_deg)
        ok["altitude"] = alt >= floor
    elapsed = time.perf_counter() - t0
    table = np.full(alt.shape, "ok", dtype=object)
    for c in reversed(ORDER):                      # the first broken one wins
        table[~np.asarray(ok[c], dtype=bool)] = c
    return elapsed, table, alt


def _moon_ok(observer, targets, t, limits, constraint_class):
    import astropy.units as u

    illumination = float(observer.moon_illumination(t))
    minimum = limits.moon_separation(illumination) * u.deg
    far = constraint_class(min=minimum)(observer, targets, t)
    return np.asarray(far, dtype=bool) | (float(observer.moon_altaz(t).alt.deg) <= 0.0)


def run_grid(site, scope, ra, dec, times, limits):
    """The visibility code's static margins on the same grid (seconds)."""
    t0 = time.perf_counter()
    eph = SpanEphemeris(times[0] - timedelta(hours=1), times[-1] + timedelta(hours=1))
    sky = SiteSky(site, eph)
    vectors = sky.of_date(eph.target_vectors(ra, dec))
    static_margins(sky, UsableAltitude(site, scope), limits, vectors,
                   np.array([to_seconds(t) for t in times]))
    return time.perf_counter() - t0


def classify(ours, theirs, alt, scope, limits):
    """Counts of disagreements by cause."""
    ky = airmass_altitude_deg(limits.max_airmass)
    secz = float(np.degrees(np.arcsin(1.0 / limits.max_airmass)))
    differ = ours != theirs
    band = differ & (alt > ky - TOL_DEG) & (alt < secz + TOL_DEG)
    near = differ & ~band & (np.abs(alt - scope.min_altitude_deg) < TOL_DEG)
    return {"total": int(differ.sum()), "airmass model band": int(band.sum()),
            "within 0.01 deg of the altitude limit": int(near.sum()),
            "other": int((differ & ~band & ~near).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", default="la-palma")
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--times", type=int, default=24)
    parser.add_argument("--date", default="2026-03-27", help="night (default: Moon 70 %% lit)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    limits = Limits()
    network, site, scope, ra, dec, times, span = inputs(args)
    astro.configure_offline()
    run_astroplan(site, scope, ra[:10], dec[:10], times[:2], limits, grid=False)   # warm up
    timings = {"plugin": [], "astroplan per instant": [], "astroplan grid": [],
               "visibility grid": []}
    for _ in range(args.repeat):
        seconds, ours = run_plugin(network, site, scope, ra, dec, times, span, limits)
        timings["plugin"].append(seconds)
        seconds, theirs, alt = run_astroplan(site, scope, ra, dec, times, limits, grid=False)
        timings["astroplan per instant"].append(seconds)
        seconds, theirs_grid, _ = run_astroplan(site, scope, ra, dec, times, limits, grid=True)
        timings["astroplan grid"].append(seconds)
        timings["visibility grid"].append(run_grid(site, scope, ra, dec, times, limits))
    n = ours.size
    plugin_s = statistics.median(timings["plugin"])
    print(f"site {site.name}, telescope {scope.name}, {args.targets} targets x {args.times} "
          f"instants over the night of {args.date} ({n:,} verdicts), median of {args.repeat}")
    print(f"\n{'method':<24} {'total s':>8} {'per instant ms':>15} {'time / plugin':>14}")
    for name, values in timings.items():
        s = statistics.median(values)
        print(f"{name:<24} {s:>8.3f} {1000 * s / args.times:>15.2f} {s / plugin_s:>13.2f}x")
    agree = int((ours == theirs).sum())
    assert (theirs == theirs_grid).all(), "astroplan per instant and on a grid disagree"
    print(f"\nagreement: {agree:,} of {n:,} verdicts identical ({100 * agree / n:.3f} %)")
    for cause, count in classify(ours, theirs, alt, scope, limits).items():
        print(f"  disagreements, {cause}: {count}")
    counts = {c: int((theirs == c).sum()) for c in (*ORDER, "ok")}
    print("astroplan verdicts: " + ", ".join(f"{c} {v:,}" for c, v in counts.items()))


if __name__ == "__main__":
    main()
