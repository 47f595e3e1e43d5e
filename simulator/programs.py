"""A night's program book: observation requests from several science programs.

==============  ============  ========================================  =========  =======
program         kind          targets                                   filters    repeats
==============  ============  ========================================  =========  =======
``galaxies``    science       NGC/IC galaxies (V <= 12)                 g r        1
``clusters``    science       globular and open clusters                g r i      1
``nebulae``     science       planetary nebulae                         Ha/g r     1
``variables``   science       generated variable stars (time series)    r          4-8
``transients``  followup      generated transient hosts                 g r i      2-3
``survey``      survey        HEALPix fields (nside 4)                  g r        1
``standards``   calibration   Landolt standard areas                    B V g r i  3
``campaign``    science       variable stars, from two sites at once    g r        4-6
``monitoring``  science       variable stars, all night, site to site   r          8-12
==============  ============  ========================================  =========  =======

Filters are those of the wish list that some telescope of the network has.
Exposures reach the program's SNR, at the target's magnitude (photometry of
stars and nebulae, SNR 200-300) or at the depth the program needs (supernovae
in galaxies, faint cluster members, transients, survey depth; SNR 10-20), on
the network's median telescope under median conditions, clipped to the
program's range. Everything is deterministic from
the seed; request ids are ``"<program>-<target>"``, e.g. ``"galaxies-NGC1300"``.

The last two programmes need the network as a whole (see the ``coordination``
plugin): a ``campaign`` (simultaneous multi-colour photometry of a flaring
star) wants two sites at once, a ``monitoring`` time series is relayed from
site to site as the Earth turns. Their targets are seen from at least two
sites; given the night (``campaign_night``), they are targets that two sites
see at the same time (campaign) or one after the other for hours (monitoring),
and their requests carry that time window. They come after the other
programmes and draw on their own random streams, so the other requests do not
depend on them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from control_center.network import Network
from control_center.plugin_api.types import QueuedRequest
from simulator import catalogue
from simulator._seeding import stream
from simulator.catalogue import Target
from simulator.ephemeris import DUSK_SUN_ALT_DEG, Ephemeris
from simulator.horizon import HorizonFrame, julian_date, to_seconds
from simulator.outcome import delivered_seeing, exposure_for_snr

__all__ = ["COORDINATED", "PROGRAMS", "Program", "demo_requests"]


@dataclass(frozen=True)
class Program:
    """One demo science program (see the table above)."""

    name: str
    kind: str
    filters: tuple[str, ...]
    """Wish list, best first; the first ``max_filters`` the network has are used."""
    max_filters: int
    priority: tuple[float, float]
    repeats: tuple[int, int]
    """Exposures wanted per filter (inclusive range)."""
    exposure_range: tuple[float, float]
    snr: float
    """SNR the exposure time is sized for..."""
    depth_v_mag: float | None
    """...at this magnitude (e.g. a supernova's in a galaxy), or the target's when None."""
    share: float
    """Fraction of ``n_science`` (science and followup programs only)."""


PROGRAMS: tuple[Program, ...] = (
    Program("galaxies", "science", filters=("g", "r", "B", "V"), max_filters=2,
            priority=(4.0, 7.0), repeats=(1, 1), exposure_range=(60, 600), snr=10.0,
            depth_v_mag=19.5, share=0.35),
    Program("clusters", "science", filters=("g", "r", "i", "B", "V"), max_filters=3,
            priority=(3.0, 6.0), repeats=(1, 1), exposure_range=(10, 300), snr=20.0,
            depth_v_mag=19.5, share=0.25),
    Program("nebulae", "science", filters=("Ha", "g", "r", "OIII"), max_filters=2,
            priority=(3.0, 5.0), repeats=(1, 1), exposure_range=(30, 300), snr=200.0,
            depth_v_mag=None, share=0.10),
    Program("variables", "science", filters=("r", "V"), max_filters=1,
            priority=(5.0, 8.0), repeats=(4, 8), exposure_range=(10, 300), snr=200.0,
            depth_v_mag=None, share=0.20),
    Program("transients", "followup", filters=("g", "r", "i", "B", "V"), max_filters=3,
            priority=(8.0, 10.0), repeats=(2, 3), exposure_range=(60, 600), snr=20.0,
            depth_v_mag=19.0, share=0.10),
    Program("survey", "survey", filters=("g", "r", "V"), max_filters=2,
            priority=(2.0, 4.0), repeats=(1, 1), exposure_range=(60, 300), snr=10.0,
            depth_v_mag=20.0, share=0.0),
    Program("standards", "calibration", filters=("B", "V", "g", "r", "i"), max_filters=5,
            priority=(3.0, 3.0), repeats=(3, 3), exposure_range=(10, 30), snr=300.0,
            depth_v_mag=None, share=0.0),
    Program("campaign", "science", filters=("g", "r", "V"), max_filters=2,
            priority=(8.0, 9.0), repeats=(4, 6), exposure_range=(60.0, 240.0), snr=1000.0,
            depth_v_mag=None, share=0.0),
    Program("monitoring", "science", filters=("r", "V"), max_filters=1,
            priority=(6.0, 7.0), repeats=(8, 12), exposure_range=(20.0, 180.0), snr=100.0,
            depth_v_mag=None, share=0.0),
)
"""The demo programs, in the order their requests are listed."""

COORDINATED = ("campaign", "monitoring")
"""Programmes whose targets must be seen from several sites (simultaneously, or in relay)."""

CAMPAIGN_MIN_OVERLAP = timedelta(hours=1)
"""A campaign target is seen by two sites at once for at least this long..."""
CAMPAIGN_MAX_WINDOW = timedelta(hours=2)
"""...and its window is the first this-long stretch of that overlap."""
MONITORING_MIN_SPAN = timedelta(hours=3)
"""A monitoring target is seen, by two or more sites in turn, for at least this long."""
COORDINATED_MIN_ALT_DEG = 30.0
_VISIBILITY_STEP = timedelta(minutes=10)
_VISIBILITY_SPAN = timedelta(hours=14)


def demo_requests(seed: int, network: Network, *, n_science: int = 120, n_survey: int = 60,
                  night: datetime | None = None, n_campaign: int = 1, n_monitoring: int = 2,
                  campaign_night: datetime | None = None) -> list[QueuedRequest]:
    """A realistic program book for ``network``, listed program by program.

    Each request carries its target's ``v_mag`` (for survey fields, the survey depth).

    Parameters
    ----------
    seed : int
    network : Network
        Sets the available filters, the reachable declinations and the reference
        telescope for exposure times.
    n_science : int
        Requests shared among the science and follow-up programs.
    n_survey : int
        Survey fields (fewer if fewer are reachable).
    night : datetime, optional
        When given, targets are picked among those near opposition that night
        (RA within 7 h of the anti-Sun), so most can be observed.
    n_campaign, n_monitoring : int
        Requests of the coordinated programmes (fewer if fewer targets qualify).
    campaign_night : datetime, optional
        Start of the night the coordinated programmes are planned for (default:
        ``night``): their targets are then chosen, and their time windows set,
        from when the sites see them in the 14 hours that follow. Without it they
        have no time window.

    Examples
    --------
    >>> from control_center.network import load_network
    >>> requests = demo_requests(1, load_network())
    >>> requests[0].request_id.startswith("galaxies-")
    True
    """
    have = {f for s in network.sites for t in s.telescopes for f in t.filters}
    shares = [p.share for p in PROGRAMS if p.share]
    counts = _apportion(n_science, shares)
    pools = {
        "galaxies": catalogue.ngc_objects(12.0, ("galaxy",)),
        "clusters": catalogue.ngc_objects(11.0, ("globular-cluster", "open-cluster")),
        "nebulae": catalogue.ngc_objects(13.0, ("planetary-nebula",)),
        "variables": catalogue.variable_stars(seed, 400),
        "transients": catalogue.transient_hosts(seed, 100),
        "survey": catalogue.survey_fields(4, depth_v_mag=20.0),
        "standards": catalogue.standard_fields(),
        "campaign": catalogue.variable_stars(seed, 400),
        "monitoring": catalogue.variable_stars(seed, 400),
    }
    wanted = dict(zip([p.name for p in PROGRAMS if p.share], counts, strict=True))
    wanted |= {"survey": n_survey, "standards": len(pools["standards"]),
               "campaign": n_campaign, "monitoring": n_monitoring}
    exposure = _exposure_model(network)
    windows = _CoordinatedWindows(network, campaign_night or night)
    requests: list[QueuedRequest] = []
    for program in PROGRAMS:
        rng = stream(seed, "programs", program.name)
        if program.name in COORDINATED:
            taken = {r.target for r in requests}
            pool = [t for t in windows.qualifying(program.name, pools[program.name])
                    if t.name not in taken]
        else:
            pool = [t for t in pools[program.name] if _reachable(t, network, night)]
        n = min(wanted[program.name], len(pool))
        picked = sorted((pool[i] for i in rng.choice(len(pool), n, replace=False)),
                        key=lambda t: t.name) if n else []
        filters = (tuple(f for f in program.filters if f in have) or (min(have),))
        filters = filters[:program.max_filters]
        for target in picked:
            lo, hi = program.priority
            repeats = int(rng.integers(program.repeats[0], program.repeats[1] + 1))
            priority = round(float(lo + (hi - lo) * rng.random()), 1)
            depth = target.v_mag if program.depth_v_mag is None else program.depth_v_mag
            seconds = exposure(depth, filters[0], program.snr, *program.exposure_range)
            not_before, not_after = windows.window(program.name, target)
            requests.append(QueuedRequest(
                request_id=f"{program.name}-{target.name}", program=program.name,
                kind=program.kind, target=target.name, ra_deg=target.ra_deg,
                dec_deg=target.dec_deg, filters=filters, exposure_s=seconds,
                priority=priority, repeats=repeats, v_mag=target.v_mag,
                not_before=not_before, not_after=not_after))
    return requests


def _apportion(total: int, shares: list[float]) -> list[int]:
    """Split ``total`` by ``shares`` (largest remainders), summing exactly to ``total``."""
    raw = [total * s / sum(shares) for s in shares]
    counts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])[:total - sum(counts)]:
        counts[i] += 1
    return counts


def _reachable(target: Target, network: Network, night: datetime | None) -> bool:
    """Culminates above 30 deg at some site and, if ``night`` is given, is in season."""
    best = max(90.0 - abs(target.dec_deg - s.latitude_deg) for s in network.sites)
    if best < 30.0:
        return False
    if night is None:
        return True
    anti_sun = (_sun_ra_deg(night) + 180.0) % 360.0
    return abs((target.ra_deg - anti_sun + 180.0) % 360.0 - 180.0) <= 105.0


class _CoordinatedWindows:
    """Which targets suit the coordinated programmes, and their time windows.

    Without a night: targets that culminate above 30 deg at two sites or more,
    no window. With one: visibility (Sun below dusk, target above
    :data:`COORDINATED_MIN_ALT_DEG`) of every target at every site on a
    10-minute grid over the following 14 hours decides: a campaign takes the first
    overlap of two sites that lasts an hour, a monitoring series the longest
    stretch in which some site sees the target, if two sites or more share it.
    """

    def __init__(self, network: Network, night: datetime | None) -> None:
        self.network = network
        self.night = None if night is None else (
            night.replace(tzinfo=UTC) if night.tzinfo is None else night.astimezone(UTC))
        self._windows: dict[tuple[str, str], tuple[datetime, datetime]] = {}

    def qualifying(self, program: str, targets: Sequence[Target]) -> list[Target]:
        pool = [t for t in targets if _seen_from(t, self.network) >= 2]
        if self.night is None or not pool:
            return pool
        times, seen = self._visibility(pool)
        sites_up = seen.sum(axis=0)                                  # (target, time)
        out = []
        for i, target in enumerate(pool):
            if program == "campaign":
                long_enough = [(a, b) for a, b in _runs(sites_up[i] >= 2)
                               if (b - a) * _VISIBILITY_STEP >= CAMPAIGN_MIN_OVERLAP]
                if not long_enough:
                    continue
                start, stop = long_enough[0]
                span = min((stop - start) * _VISIBILITY_STEP, CAMPAIGN_MAX_WINDOW)
                window = (times[start], times[start] + span)
            else:
                start, stop = max(_runs(sites_up[i] >= 1), key=lambda r: r[1] - r[0],
                                  default=(0, 0))
                relayed = np.flatnonzero(seen[:, i, start:stop].any(axis=1)).size >= 2
                if not relayed or (stop - start) * _VISIBILITY_STEP < MONITORING_MIN_SPAN:
                    continue
                window = (times[start], times[start] + (stop - start) * _VISIBILITY_STEP)
            self._windows[(program, target.name)] = window
            out.append(target)
        return out

    def window(self, program: str, target: Target) -> tuple[datetime | None, datetime | None]:
        return self._windows.get((program, target.name), (None, None))

    def _visibility(self, targets: Sequence[Target]) -> tuple[list[datetime], np.ndarray]:
        """Times and a (site, target, time) array: dark there and the target high enough."""
        n = int(_VISIBILITY_SPAN / _VISIBILITY_STEP) + 1
        times = [self.night + i * _VISIBILITY_STEP for i in range(n)]
        seconds = np.array([to_seconds(t) for t in times])
        ra = np.array([t.ra_deg for t in targets])
        dec = np.array([t.dec_deg for t in targets])
        seen = np.zeros((len(self.network.sites), len(targets), n), dtype=bool)
        for k, site in enumerate(self.network.sites):
            sun = Ephemeris(site.latitude_deg, site.longitude_deg, site.elevation_m,
                            times[0], times[-1]).on_grid(seconds)["sun_alt"]
            frame = HorizonFrame(site.latitude_deg, site.longitude_deg, self.night)
            for j in np.flatnonzero(sun < DUSK_SUN_ALT_DEG):
                alt, _ = frame.altaz_many(ra, dec, float(seconds[j]))
                seen[k, :, j] = alt >= COORDINATED_MIN_ALT_DEG
        return times, seen


def _seen_from(target: Target, network: Network) -> int:
    """Sites where ``target`` culminates above 30 deg."""
    return sum(90.0 - abs(target.dec_deg - s.latitude_deg) >= 30.0 for s in network.sites)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of True in ``mask``, in order."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _sun_ra_deg(t: datetime) -> float:
    """Right ascension of the Sun (deg, ~1 deg accuracy; Astronomical Almanac low precision)."""
    d = julian_date(t) - 2451545.0
    g = math.radians(357.528 + 0.9856003 * d)
    lam = math.radians(280.460 + 0.9856474 * d + 1.915 * math.sin(g) + 0.020 * math.sin(2 * g))
    eps = math.radians(23.439 - 4e-7 * d)
    return math.degrees(math.atan2(math.cos(eps) * math.sin(lam), math.cos(lam))) % 360.0


def _exposure_model(network: Network):
    """Exposure (s) for an SNR on the median telescope in median seeing at airmass 1.3."""
    scopes = sorted((t for s in network.sites for t in s.telescopes), key=lambda t: t.aperture_m)
    ref = scopes[(len(scopes) - 1) // 2]
    seeing = statistics.median(s.climate.median_seeing_arcsec for s in network.sites)
    sky_v = statistics.median(s.climate.dark_sky_v_mag_arcsec2 for s in network.sites)

    def exposure(v_mag: float, filter: str, snr: float, lo: float, hi: float) -> float:
        from simulator.sky import sky_brightness

        sky = float(sky_brightness(50.0, 90.0, -30.0, 0.0, -30.0, dark_sky_v_mag=sky_v,
                                   filter=filter))
        fwhm = float(delivered_seeing(seeing, 1.3, filter, pixel_scale_arcsec=ref.pixel_scale_arcsec))
        t = float(exposure_for_snr(snr, v_mag, aperture_m=ref.aperture_m, filter=filter,
                                   airmass=1.3, sky_mag_arcsec2=sky, fwhm_arcsec=fwhm,
                                   pixel_scale_arcsec=ref.pixel_scale_arcsec))
        t = float(np.clip(t, lo, hi))
        step = 5.0 if t < 60 else 10.0 if t < 180 else 30.0
        return min(hi, step * math.ceil(t / step))

    return exposure
