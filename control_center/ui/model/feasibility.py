"""The Queue view's feasibility: can each request be observed now, and when later tonight.

For each request and site the target's altitude and azimuth are computed once
per night on a grid (:data:`GRID_STEP`) with :class:`simulator.horizon.HorizonFrame`
(vectorised over requests; ~0.01 deg from astropy's ``AltAz``, microseconds
per target where astropy's first transform costs seconds, which would hold up
the console; a new request costs its own row, not a recomputation); the Sun's
altitude comes from the sites' :class:`~control_center.ui.model.sun.SunTrack`
(astropy, shared with the Network view). A request is *observable* at a site and time when
the Sun is below -12 deg there (the network's dark time), the target is above
the lowest usable altitude of one of the site's telescopes (its
``min_altitude_deg``, raised by the site's and the telescope's horizon maps,
interpolated periodically in azimuth) and the time is within the request's
``not_before``/``not_after``. *Now* also needs the site's dome open (its last
reported weather) and its link not offline; *later* cannot know the weather and
lists the windows from the grid. The results are cached per minute of
simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

__all__ = ["GRID_STEP", "Feasibility", "FeasibilityModel"]

GRID_STEP = timedelta(minutes=10)
DARK_SUN_DEG = -12.0
"""The network's dark time: the Sun below this altitude."""


@dataclass(frozen=True)
class Feasibility:
    """Whether a request can be observed now, and when later tonight."""

    now_ok: bool
    now: str
    """``ok: la-palma`` or why not (``twilight``, ``low``, ``weather``...), short."""
    later: str
    """``until 04:30`` (when observable now), ``02:10-04:30 la-palma`` or ``not tonight``."""
    detail: str
    """One line per site: why (not) now, and its windows tonight."""


@dataclass
class _SiteGrid:
    name: str
    location: Any
    latitude_deg: float
    longitude_deg: float
    floor_deg: float
    maps: list[np.ndarray]
    limit_maps: list[tuple[float, list[np.ndarray]]]
    """Per telescope: (its min altitude, horizon maps that apply to it)."""
    dark: np.ndarray
    """(T,) Sun below -12 deg at the grid's times."""


class FeasibilityModel:
    """Feasibility of the queue's requests over one night (see the module docstring)."""

    def __init__(self) -> None:
        self._night: Any = None
        self._times: list[datetime] = []
        self._sites: list[_SiteGrid] = []
        self._grids: dict[str, dict[str, np.ndarray]] = {}
        """request id -> site -> its observable intervals tonight (dark, high enough, in its
        window), in seconds from the grid's start."""
        self._alt: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        """request id -> site -> ((T,) altitude, (T,) usable limit)."""

    def _start(self, night: Any, network: Any) -> None:
        from control_center.ui.model.sun import sun_track

        self._night = night
        self._grids.clear()
        self._alt.clear()
        n = int((night.end - night.start) / GRID_STEP) + 1
        self._times = [night.start + i * GRID_STEP for i in range(n)]
        if self._times[-1] < night.end:
            self._times.append(night.end)
        self._sites = []
        for site in network.sites:
            track = sun_track(site.location, night.start, night.end)
            dark = np.array([track.altitude(t) < DARK_SUN_DEG for t in self._times])
            site_map = [np.array(sorted(site.horizon), dtype=float)] if site.horizon else []
            limits = [(float(t.min_altitude_deg),
                       site_map + ([np.array(sorted(t.horizon), dtype=float)]
                                   if getattr(t, "horizon", ()) else []))
                      for t in site.telescopes]
            self._sites.append(_SiteGrid(site.name, site.location, site.latitude_deg,
                                         site.longitude_deg, min((m for m, _ in limits), default=20.0), site_map,
                                         limits, dark))

    def _add(self, requests: list[tuple]) -> None:
        """Compute the grids of ``requests`` (``(id, ra, dec, not_before, not_after)``)."""
        from simulator.horizon import HorizonFrame

        ras = np.array([r[1] for r in requests], dtype=float)
        decs = np.array([r[2] for r in requests], dtype=float)
        seconds = np.array([(t - self._times[0]).total_seconds() for t in self._times])
        windows = np.ones((len(requests), len(self._times)), dtype=bool)
        for i, r in enumerate(requests):
            if r[3] is not None:
                windows[i] &= seconds >= (r[3] - self._times[0]).total_seconds()
            if r[4] is not None:
                windows[i] &= seconds <= (r[4] - self._times[0]).total_seconds()
        for site in self._sites:
            frame = HorizonFrame(site.latitude_deg, site.longitude_deg,
                                 self._times[len(self._times) // 2])
            pairs = [frame.altaz_many(ras, decs, t) for t in self._times]
            alt = np.stack([p[0] for p in pairs], axis=1)
            az = np.stack([p[1] for p in pairs], axis=1)
            limit = _usable_limit(site, az)
            ok = site.dark[None, :] & (alt >= limit) & windows
            for i, r in enumerate(requests):
                self._grids.setdefault(r[0], {})[site.name] = _runs(ok[i], seconds)
                self._alt.setdefault(r[0], {})[site.name] = (alt[i].tolist(), limit[i].tolist())

    def evaluate(self, night: Any, network: Any, now: datetime,
                 requests: list[tuple], conditions: dict[str, tuple[bool | None, str, str]]
                 ) -> dict[str, Feasibility]:
        """Feasibility of ``requests`` at ``now``.

        Parameters
        ----------
        night : NightInfo
        network : control_center.network.Network
        now : datetime
            The log's newest simulated time.
        requests : list of (request_id, ra_deg, dec_deg, not_before, not_after)
            The requests still wanted.
        conditions : dict
            Site -> (dome open or None if never reported, weather reason, link state).
        """
        from control_center.ui.model.sun import sun_track

        if network is None or not network.sites:
            return {}
        if self._night is None or self._night.night_id != night.night_id:
            self._start(night, network)
        new = [r for r in requests if r[0] not in self._grids]
        if new:
            self._add(new)
        t0 = self._times[0]
        s_now = (now - t0).total_seconds()
        step = GRID_STEP.total_seconds()
        k0 = min(max(0, int(s_now // step)), len(self._times) - 1)
        k1 = min(k0 + 1, len(self._times) - 1)
        span = (self._times[k1] - self._times[k0]).total_seconds()
        w = min(1.0, max(0.0, (s_now - k0 * step) / span)) if span else 0.0
        suns = {site.name: sun_track(site.location, night.start, night.end).altitude(now)
                for site in self._sites}
        return {r[0]: self._one(r, now, s_now, (k0, k1, w), suns, conditions)
                for r in requests}

    def _one(self, request: tuple, now: datetime, s_now: float, at: tuple[int, int, float],
             suns: dict[str, float], conditions: dict) -> Feasibility:
        request_id, _, _, not_before, not_after = request
        grids, alts = self._grids[request_id], self._alt[request_id]
        ok_sites, why, details, windows = [], [], [], []
        for site in self._sites:
            sky_ok, reason = _now_at(suns[site.name], alts[site.name], at, now, not_before,
                                     not_after)
            dome, weather, link = conditions.get(site.name, (None, "", "unknown"))
            if sky_ok and link == "offline":
                sky_ok, reason = False, "offline"
            elif sky_ok and dome is False:
                sky_ok, reason = False, "weather"
            runs = [(max(a, s_now), b) for a, b in grids[site.name] if b > s_now]
            windows += [(start, end, site.name) for start, end in runs]
            if sky_ok:
                ok_sites.append(site.name)
            else:
                why.append(reason)
            text = "ok now" if sky_ok else (f"{reason}: {weather}" if reason == "weather"
                                            and weather else reason)
            later = ", ".join(f"{_hm(self._at(a))}-{_hm(self._at(b))}" for a, b in runs)
            details.append(f"{site.name}: {text}; tonight {later or 'none'}")
        detail = " · ".join(details)
        if ok_sites:
            ends = [b for a, b, name in windows if name in ok_sites and a <= s_now + 1]
            later = f"until {_hm(self._at(max(ends)))}" if ends else "until soon"
            return Feasibility(True, "ok: " + ", ".join(ok_sites), later, detail)
        future = sorted(w for w in windows if w[0] > s_now)
        if future:
            start, end, site_name = future[0]
            others = len({w[2] for w in future}) - 1
            later = f"{_hm(self._at(start))}-{_hm(self._at(end))} {site_name}" + (
                f" +{others}" if others else "")
        else:
            later = "not tonight"
        return Feasibility(False, _summary(why), later, detail)

    def _at(self, seconds: float) -> datetime:
        return self._times[0] + timedelta(seconds=seconds)


def _now_at(sun: float, alt_limit: tuple, at: tuple[int, int, float], now: datetime,
            not_before: Any, not_after: Any) -> tuple[bool, str]:
    """Whether the sky allows a request at one site now (ignoring weather), and why not."""
    if (not_before is not None and now < not_before) or (not_after is not None
                                                         and now > not_after):
        return False, "outside its window"
    if sun >= DARK_SUN_DEG:
        return False, "day" if sun >= 0 else "twilight"
    k0, k1, w = at
    alt = alt_limit[0][k0] * (1 - w) + alt_limit[0][k1] * w
    if alt < 0:
        return False, "below horizon"
    if alt < alt_limit[1][k0] * (1 - w) + alt_limit[1][k1] * w:
        return False, "low"
    return True, ""


def _usable_limit(site: _SiteGrid, az: np.ndarray) -> np.ndarray:
    """(N, T) the lowest usable altitude at ``az`` over the site's telescopes."""
    best = None
    for floor, maps in site.limit_maps or [(site.floor_deg, site.maps)]:
        limit = np.full(az.shape, floor)
        for pts in maps:
            limit = np.maximum(limit, np.interp(az, pts[:, 0], pts[:, 1], period=360.0))
        best = limit if best is None else np.minimum(best, limit)
    return best


def _runs(ok: np.ndarray, seconds: np.ndarray) -> list[tuple[float, float]]:
    """The intervals (start, end, in seconds) where ``ok`` holds."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    return [(float(seconds[a]), float(seconds[b - 1]))
            for a, b in zip(edges[::2], edges[1::2], strict=True)]


_ORDER = ("weather", "offline", "low", "below horizon", "twilight", "day", "outside its window")


def _summary(reasons: list[str]) -> str:
    """The reason closest to observable, and how many sites share it."""
    if not reasons:
        return "no site"
    best = min(reasons, key=lambda r: _ORDER.index(r) if r in _ORDER else len(_ORDER))
    return best


def _hm(when: datetime) -> str:
    return f"{when:%H:%M}"
