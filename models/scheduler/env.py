"""A gymnasium environment of the multi-site network for learning to schedule.

One episode is one night of a network (:class:`~control_center.network.Network`)
on the simulator core: each site's weather and seeing
(:class:`simulator.weather.WeatherModel` through
:class:`simulator.site.SimulatedNetwork`), its Sun and Moon, the telescopes'
slews, filter changes and readout (:mod:`simulator.telescope`) and the outcome
of every exposure (:func:`simulator.outcome.simulate_outcome`).

The night is event-driven like the control center's loop: whenever a telescope
is free at an open, dark site with feasible work, the agent decides for it.

* **Observation** (a dict): ``cand`` -- one row of
  :data:`~models.scheduler.features.CANDIDATE_FEATURES` per feasible candidate
  (target, telescope, exposure), padded to ``max_candidates`` and masked by
  ``mask``; ``ctx`` -- :data:`~models.scheduler.features.CONTEXT_FEATURES`
  (weather now and its 30-minute trend at the site, the other sites, the time
  left, recent observation quality, calibration state, offline sites);
  ``telescope`` -- the deciding telescope's index (the agent keeps one
  recurrent state per telescope).
* **Feasible set**: the constraints the plugins apply -- above the telescope's
  altitude limit now and at the end of the observation, airmass <= 3, the Sun
  below -12 deg, the dome open, the request's time window, the filter on the
  telescope, not being observed elsewhere; the best ``max_candidates`` by the
  hand-written value formula (:func:`plugins.value_formula.expected_value`)
  are offered, as the pipeline's scorer would rank them.
* **Action**: the index of a candidate.
* **Reward**: the science value the exposure yielded, minus the overhead
  (``slew_cost`` per minute of slew, filter change and readout) and minus
  ``miss_cost x priority x remaining`` for every time window that closes with
  work left; plus ``alert_bonus x exp(-latency / 1 h)`` when an alert's target
  is first observed; plus, at the end of the night, ``fairness_bonus x`` Jain's
  index of the programmes' completed fractions.
* **Alerts**: follow-up requests appear during the night at random times
  (Poisson, ``alert_rate_per_h``), each with a 3-hour window.
* **Site loss**: with probability ``site_loss_prob`` one site goes offline at a
  random time of the night (its telescopes take no more work).

Nights are built once per start date (requests, altitudes on a 5-minute grid)
and reused across weather seeds, so a step costs well under a millisecond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import ClassVar

import gymnasium as gym
import numpy as np

from control_center import astro
from control_center.network import Network, load_network
from models.scheduler.features import (
    KINDS,
    N_CANDIDATE,
    N_CONTEXT,
    candidate_matrix,
    context_vector,
    kind_index,
    value_matrix,
)
from plugins.value_formula.formula import expected_value
from simulator.bands import band
from simulator.ephemeris import DUSK_SUN_ALT_DEG
from simulator.horizon import HorizonFrame, to_seconds
from simulator.outcome import simulate_outcome
from simulator.programs import demo_requests
from simulator.site import DEFAULT_V_MAG, SimulatedNetwork
from simulator.telescope import expected_duration_s
from simulator.weather import hours_since_dew_onset

__all__ = ["DEFAULT_STARTS", "EnvConfig", "SchedulingEnv"]

GRID_S = 300.0
IDLE_S = 300.0
MAX_AIRMASS = 3.0
DEFAULT_STARTS = tuple(datetime(2026, m, 5 + 9 * (m % 2), 18, tzinfo=UTC)
                       for m in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12))
"""Training nights (start dates); the benchmark's 2026-03-21 is not among them."""


@dataclass(frozen=True)
class EnvConfig:
    """What nights the environment simulates and how it rewards.

    Attributes
    ----------
    network : Network or None
        Default: the shipped network (:func:`control_center.network.load_network`).
    starts : tuple of datetime
        Start of each possible night; an episode draws one.
    hours : float
        Length of a night.
    n_science, n_survey : int
        Size of the programme book (:func:`simulator.programs.demo_requests`).
    keep_fraction : float
        Fraction of the requests kept in an episode (a random subset, for variety).
    max_candidates : int
        Padding of the candidate set (the best by the value formula are kept).
    """

    network: Network | None = None
    starts: tuple[datetime, ...] = DEFAULT_STARTS
    hours: float = 12.0
    n_science: int = 200
    n_survey: int = 150
    keep_fraction: float = 0.8
    max_candidates: int = 48
    alert_rate_per_h: float = 0.25
    site_loss_prob: float = 0.2
    slew_cost: float = 0.05
    miss_cost: float = 0.1
    alert_bonus: float = 3.0
    fairness_bonus: float = 3.0


@dataclass
class _Book:
    """A night's requests flattened to (request, filter) rows, and their altitudes."""

    start_s: float
    times_s: np.ndarray
    req_ra: np.ndarray
    req_dec: np.ndarray
    req_vmag: np.ndarray
    req_priority: np.ndarray
    req_exposure: np.ndarray
    req_repeats: np.ndarray
    req_kind: np.ndarray
    req_program: np.ndarray
    req_not_before: np.ndarray
    req_not_after: np.ndarray
    row_req: np.ndarray
    row_filter: np.ndarray
    alt: dict[str, np.ndarray]
    """Site -> altitude (deg) of each request on the grid, shape (requests, times)."""
    programs: tuple[str, ...]
    sun_alt: dict[str, np.ndarray] = field(default_factory=dict)


@lru_cache(maxsize=16)
def _book(network: Network, start: datetime, hours: float, n_science: int,
          n_survey: int) -> _Book:
    requests = demo_requests(int(start.timestamp()) % 100003, network, n_science=n_science,
                             n_survey=n_survey, campaign_night=start)
    start_s = to_seconds(start)
    times = start_s + GRID_S * np.arange(math.ceil(hours * 3600 / GRID_S) + 2)
    programs = tuple(sorted({r.program for r in requests}))
    inf = np.inf
    rows_req, rows_filter = [], []
    for i, r in enumerate(requests):
        for f in r.filters:
            rows_req.append(i)
            rows_filter.append(f)
    book = _Book(
        start_s=start_s, times_s=times,
        req_ra=np.array([r.ra_deg for r in requests]),
        req_dec=np.array([r.dec_deg for r in requests]),
        req_vmag=np.array([np.nan if r.v_mag is None else r.v_mag for r in requests]),
        req_priority=np.array([r.priority for r in requests]),
        req_exposure=np.array([r.exposure_s for r in requests]),
        req_repeats=np.array([r.repeats for r in requests]),
        req_kind=kind_index([r.kind for r in requests]),
        req_program=np.array([programs.index(r.program) for r in requests]),
        req_not_before=np.array([-inf if r.not_before is None else to_seconds(r.not_before)
                                 for r in requests]),
        req_not_after=np.array([inf if r.not_after is None else to_seconds(r.not_after)
                                for r in requests]),
        row_req=np.array(rows_req, dtype=int), row_filter=np.array(rows_filter),
        alt={}, programs=programs)
    for site in network.sites:
        book.alt[site.name] = _altitudes(site, start, times, book.req_ra, book.req_dec)
    return book


def _altitudes(site, epoch: datetime, times: np.ndarray, ra: np.ndarray,
               dec: np.ndarray) -> np.ndarray:
    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, epoch)
    return np.stack([frame.altaz_many(ra, dec, float(t))[0] for t in times], axis=1)


class SchedulingEnv(gym.Env):
    """The network's night as a sequential decision problem (see the module docstring).

    Parameters
    ----------
    config : EnvConfig
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, config: EnvConfig = EnvConfig()) -> None:
        self.config = config
        self.network = config.network or load_network()
        self.scopes = [(site, t) for site in self.network.sites for t in site.telescopes]
        k = config.max_candidates
        self.observation_space = gym.spaces.Dict({
            "cand": gym.spaces.Box(-10, 10, (k, N_CANDIDATE), np.float32),
            "mask": gym.spaces.MultiBinary(k),
            "ctx": gym.spaces.Box(-10, 10, (N_CONTEXT,), np.float32),
            "telescope": gym.spaces.Discrete(len(self.scopes)),
        })
        self.action_space = gym.spaces.Discrete(k)
        self._pending = None

    # -- episode set-up ------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a night. ``options`` may set ``start`` (index into ``config.starts``),
        ``lose_site`` (a site name, or "" for none) and ``lose_at_h`` (hours into the night)."""
        super().reset(seed=seed)
        options = options or {}
        rng = self.np_random
        cfg = self.config
        start = cfg.starts[options.get("start", int(rng.integers(len(cfg.starts))))]
        self.start = start
        book = _book(self.network, start, cfg.hours, cfg.n_science, cfg.n_survey)
        weather_seed = int(rng.integers(2**31 - 1))
        self.sim = SimulatedNetwork(self.network, weather_seed, start,
                                    start + timedelta(hours=cfg.hours))
        self.t0 = book.start_s
        self.t_end = self.t0 + cfg.hours * 3600.0
        self.times_s = book.times_s
        if not book.sun_alt:
            for name, sim in self.sim.sites.items():
                book.sun_alt[name] = sim.ephemeris.on_grid(book.times_s)["sun_alt"]
        self.sun_alt = book.sun_alt
        n = book.req_ra.size
        keep = rng.random(n) < cfg.keep_fraction
        keep |= book.req_not_after < np.inf                       # coordinated work stays
        self.req = {
            "ra": book.req_ra.copy(), "dec": book.req_dec.copy(), "vmag": book.req_vmag.copy(),
            "priority": np.clip(book.req_priority + rng.normal(0, 0.5, n), 1, 10),
            "exposure": book.req_exposure.copy(), "repeats": book.req_repeats.copy(),
            "kind": book.req_kind.copy(), "program": book.req_program.copy(),
            "not_before": book.req_not_before.copy(), "not_after": book.req_not_after.copy(),
            "appears": np.where(keep, -np.inf, np.inf), "alert": np.zeros(n, bool),
            "failures": np.zeros(n), "first_done": np.full(n, np.nan),
            "missed": np.zeros(n, bool),
        }
        self.alt = {s: a.copy() for s, a in book.alt.items()}
        self.programs = list(book.programs)
        self.row_req = book.row_req.copy()
        self.row_filter = book.row_filter.copy()
        self.row_done = np.zeros(self.row_req.size)
        self._add_alerts(rng)
        self._filter_ok = np.stack([np.isin(self.row_filter, t.filters) for _, t in self.scopes])
        n_scopes = len(self.scopes)
        self.free_at = np.full(n_scopes, self.t0)
        self.pointing: list[tuple[float, float] | None] = [None] * n_scopes
        self.filter: list[str | None] = [None] * n_scopes
        self.busy_row = np.full(n_scopes, -1)
        self.busy_until = np.full(n_scopes, self.t0)
        self.quality: list[list[float]] = [[] for _ in range(n_scopes)]
        self.calibrated = np.zeros(n_scopes, bool)
        self.lost_at = {s.name: np.inf for s in self.network.sites}
        lose = options.get("lose_site")
        if lose is None and rng.random() < cfg.site_loss_prob:
            lose = self.network.sites[int(rng.integers(len(self.network.sites)))].name
        if lose:
            at = options.get("lose_at_h", float(rng.uniform(0.25, 0.75) * cfg.hours))
            self.lost_at[lose] = self.t0 + at * 3600.0
        self.rng = rng
        self.total_value = 0.0
        self.n_observations = 0
        self.log: list[dict] = []
        self._pending = None
        obs, _ = self._advance()
        return obs, {}

    def _add_alerts(self, rng: np.random.Generator) -> None:
        cfg = self.config
        n_alerts = int(rng.poisson(cfg.alert_rate_per_h * cfg.hours))
        if n_alerts == 0:
            return
        when = self.t0 + np.sort(rng.uniform(0, cfg.hours * 3600.0, n_alerts))
        ra = rng.uniform(0, 360, n_alerts)
        dec = np.degrees(np.arcsin(rng.uniform(-0.9, 0.7, n_alerts)))
        filters = ("r", "g")
        for name, alt in self.alt.items():
            site = next(s for s in self.network.sites if s.name == name)
            extra = _altitudes(site, self.start, self.times_s, ra, dec)
            self.alt[name] = np.concatenate([alt, extra])
        n0 = self.req["ra"].size
        new = {"ra": ra, "dec": dec, "vmag": rng.uniform(16.0, 19.0, n_alerts),
               "priority": rng.uniform(8.5, 10.0, n_alerts), "exposure": np.full(n_alerts, 120.0),
               "repeats": np.full(n_alerts, 2), "kind": np.full(n_alerts, KINDS.index("followup")),
               "program": np.full(n_alerts, len(self.programs)), "not_before": when,
               "not_after": when + 3 * 3600.0, "appears": when, "alert": np.ones(n_alerts, bool),
               "failures": np.zeros(n_alerts), "first_done": np.full(n_alerts, np.nan),
               "missed": np.zeros(n_alerts, bool)}
        self.programs.append("alerts")
        for key, value in new.items():
            self.req[key] = np.concatenate([self.req[key], value])
        rows = np.repeat(np.arange(n0, n0 + n_alerts), len(filters))
        self.row_req = np.concatenate([self.row_req, rows])
        self.row_filter = np.concatenate([self.row_filter, np.tile(filters, n_alerts)])
        self.row_done = np.concatenate([self.row_done, np.zeros(rows.size)])

    # -- the night's clock ---------------------------------------------------------------

    def _grid(self, t: float) -> tuple[int, float]:
        x = min(max((t - self.t0) / GRID_S, 0.0), len(self.times_s) - 1.000001)
        i = int(x)
        return i, x - i

    def _alt_at(self, site: str, rows_req: np.ndarray, t) -> np.ndarray:
        """Altitude of requests at ``t`` (a time, or one time per request)."""
        x = np.clip((np.asarray(t, dtype=float) - self.t0) / GRID_S, 0.0,
                    len(self.times_s) - 1.000001)
        i = x.astype(int)
        f = x - i
        a = self.alt[site]
        return a[rows_req, i] * (1 - f) + a[rows_req, i + 1] * f

    def _sun(self, site: str, t: float) -> float:
        i, f = self._grid(t)
        s = self.sun_alt[site]
        return float(s[i] * (1 - f) + s[i + 1] * f)

    def _advance(self):
        """Move to the next decision; returns (observation, reward accrued meanwhile)."""
        penalty = 0.0
        while True:
            k = int(np.argmin(self.free_at))
            t = float(self.free_at[k])
            penalty += self._close_windows(t)
            if t >= self.t_end:
                self._pending = None
                return self._empty_obs(), penalty
            site, _scope = self.scopes[k]
            if t >= self.lost_at[site.name]:
                self.free_at[k] = np.inf
                continue
            cond = self.sim[site.name].conditions(t)
            if not cond.open or self._sun(site.name, t) > DUSK_SUN_ALT_DEG:
                self.free_at[k] = t + IDLE_S
                continue
            found = self._candidates(k, t, cond)
            if found is None:
                self.free_at[k] = t + IDLE_S
                continue
            self._pending = found
            return found["obs"], penalty

    def _close_windows(self, t: float) -> float:
        r = self.req
        left = self._remaining_by_request()
        closing = (r["not_after"] < t) & ~r["missed"] & (left > 0) & (r["appears"] <= t)
        if not closing.any():
            return 0.0
        r["missed"] |= closing
        return -self.config.miss_cost * float(np.sum(r["priority"][closing]
                                                     * left[closing]))

    def _remaining_by_request(self) -> np.ndarray:
        rep = self.req["repeats"][self.row_req]
        left = np.maximum(rep - self.row_done, 0) / np.maximum(rep, 1)
        out = np.zeros(self.req["ra"].size)
        np.maximum.at(out, self.row_req, left)
        return out

    # -- candidates ----------------------------------------------------------------------

    def _candidates(self, k: int, t: float, cond) -> dict | None:
        site, scope = self.scopes[k]
        r = self.req
        rr = self.row_req
        rep = r["repeats"][rr]
        busy = np.zeros(rr.size, bool)
        for j, row in enumerate(self.busy_row):
            if j != k and row >= 0 and self.busy_until[j] > t:
                busy |= rr == rr[row]
        ok = (self._filter_ok[k] & (self.row_done < rep) & ~busy & (r["appears"][rr] <= t)
              & (r["not_before"][rr] <= t))
        rows = np.flatnonzero(ok)
        if rows.size == 0:
            return None
        req = rr[rows]
        alt = self._alt_at(site.name, req, t)
        rows, req, alt = rows[alt >= scope.min_altitude_deg], req[alt >= scope.min_altitude_deg], \
            alt[alt >= scope.min_altitude_deg]
        if rows.size == 0:
            return None
        pointing = self.pointing[k]
        pra, pdec = pointing if pointing is not None else (None, None)
        exposure = r["exposure"][req]
        filters = self.row_filter[rows]
        duration = expected_duration_s(scope, pra, pdec, self.filter[k], r["ra"][req],
                                       r["dec"][req], filters, exposure)
        alt_end = self._alt_at(site.name, req, t + duration)
        airmass = np.minimum(astro.airmass(alt), 10.0)
        fits = ((alt_end >= scope.min_altitude_deg) & (airmass <= MAX_AIRMASS)
                & (t + duration <= r["not_after"][req]) & (t + duration <= self.t_end))
        if not fits.any():
            return None
        rows, req, alt, duration, airmass, exposure, filters = (
            a[fits] for a in (rows, req, alt, duration, airmass, exposure, filters))
        priority = r["priority"][req] * 0.6 ** r["failures"][req]
        value, sigma = expected_value(priority, airmass, exposure, duration, cond)
        order = np.argsort(-value, kind="stable")[: self.config.max_candidates]
        rows, req, alt, duration, airmass, exposure, filters, value, sigma, priority = (
            a[order] for a in (rows, req, alt, duration, airmass, exposure, filters, value,
                               sigma, priority))
        cand = self._features(k, t, cond, rows, req, alt, duration, airmass, exposure, value,
                              sigma)
        n = rows.size
        kmax = self.config.max_candidates
        padded = np.zeros((kmax, cand.shape[1]), np.float32)
        padded[:n] = cand
        mask = np.zeros(kmax, np.int8)
        mask[:n] = 1
        obs = {"cand": padded, "mask": mask, "ctx": self._context(k, t, cond, n),
               "telescope": k}
        return {"obs": obs, "k": k, "t": t, "rows": rows, "req": req, "value": value,
                "sigma": sigma, "duration": duration, "cond": cond, "filters": filters,
                "exposure": exposure, "airmass": airmass}

    def _features(self, k, t, cond, rows, req, alt, duration, airmass, exposure, value, sigma):
        site, scope = self.scopes[k]
        r = self.req
        rep = r["repeats"][req]
        window = np.where(np.isfinite(r["not_after"][req]), (r["not_after"][req] - t) / 3600.0,
                          np.nan)
        done_frac = self._program_completion()
        deficit = done_frac[r["program"][req]] - np.mean(done_frac)
        setup = duration - exposure - scope.readout_s
        return candidate_matrix(
            priority=r["priority"][req], exposure_s=exposure, duration_s=duration, score=value,
            sigma=sigma, airmass=airmass, alt_deg=alt,
            alt_later_deg=self._alt_at(site.name, req, t + 3600.0),
            min_alt_deg=scope.min_altitude_deg, window_left_h=window,
            remaining_frac=(rep - self.row_done[rows]) / np.maximum(rep, 1),
            failures=r["failures"][req], setup_s=setup, kind=r["kind"][req],
            program_deficit=deficit)

    def _program_completion(self) -> np.ndarray:
        rr = self.row_req
        visible = self.req["appears"][rr] < np.inf
        rep = self.req["repeats"][rr]
        prog = self.req["program"][rr]
        n = len(self.programs)
        want = np.bincount(prog[visible], rep[visible], minlength=n)
        got = np.bincount(prog[visible], np.minimum(self.row_done, rep)[visible], minlength=n)
        return np.where(want > 0, got / np.maximum(want, 1), 0.0)

    def _context(self, k: int, t: float, cond, n: int) -> np.ndarray:
        site, scope = self.scopes[k]
        past = self.sim[site.name].conditions(max(t - 1800.0, self.t0))
        others = [s.name for s in self.network.sites if s.name != site.name]
        other_cond = [self.sim[o].conditions(t) for o in others if t < self.lost_at[o]]
        open_other = [c for c in other_cond if c.open]
        dark_left = self._dark_left_h(site.name, t)
        q = self.quality[k][-3:]
        return context_vector(
            cloud=cond.cloud_cover, humidity=cond.humidity, wind_m_s=cond.wind_m_s,
            seeing_arcsec=cond.seeing_arcsec, sky_v_mag=cond.sky_v_mag_arcsec2, open=cond.open,
            cloud_trend=cond.cloud_cover - past.cloud_cover, dark_left_h=dark_left,
            night_elapsed=(t - self.t0) / (self.t_end - self.t0),
            other_open_frac=len(open_other) / max(len(others), 1), aperture_m=scope.aperture_m,
            recent_quality=float(np.mean(q)) if q else 0.5, calibrated=self.calibrated[k],
            n_candidates=n,
            offline_frac=float(np.mean([t >= v for v in self.lost_at.values()])),
            other_cloud=float(np.mean([c.cloud_cover for c in open_other])) if open_other
            else 1.0)

    def _dark_left_h(self, site: str, t: float) -> float:
        i, _ = self._grid(t)
        s = self.sun_alt[site][i:]
        light = np.flatnonzero(s > DUSK_SUN_ALT_DEG)
        steps = light[0] if light.size else s.size
        return min(steps * GRID_S / 3600.0, (self.t_end - t) / 3600.0)

    def _empty_obs(self) -> dict:
        kmax = self.config.max_candidates
        return {"cand": np.zeros((kmax, N_CANDIDATE), np.float32),
                "mask": np.zeros(kmax, np.int8), "ctx": np.zeros(N_CONTEXT, np.float32),
                "telescope": 0}

    # -- acting --------------------------------------------------------------------------

    @property
    def pending(self) -> dict | None:
        """The decision waiting for an action (candidate arrays, time, telescope), or None."""
        return self._pending

    def step(self, action: int):
        p = self._pending
        if p is None:
            raise RuntimeError("the night is over: call reset()")
        a = int(action)
        if not 0 <= a < p["rows"].size:
            raise ValueError(f"action {a} is not a feasible candidate (have {p['rows'].size})")
        reward, record = self._execute(p, a)
        more, penalty = self._advance()
        reward += penalty
        done = self._pending is None
        if done:
            reward += self._fairness_reward()
        return more, float(reward), done, False, {"observation": record}

    def _execute(self, p: dict, a: int) -> tuple[float, dict]:
        k, t = p["k"], p["t"]
        site, scope = self.scopes[k]
        cfg = self.config
        row, req = int(p["rows"][a]), int(p["req"][a])
        r = self.req
        ra, dec, f, exposure = r["ra"][req], r["dec"][req], str(p["filters"][a]), \
            float(p["exposure"][a])
        duration = float(p["duration"][a])
        overhead = duration - exposure
        shutter = t + overhead - scope.readout_s
        sim = self.sim[site.name]
        samples = [sim.conditions(x) for x in (shutter, shutter + exposure / 2,
                                                shutter + exposure)]
        closed = next((c for c in samples if not c.open), None)
        during = closed or replace(samples[1], cloud_cover=max(c.cloud_cover for c in samples))
        mid = shutter + exposure / 2
        alt, az = sim.frame.altaz(ra, dec, mid)
        vmag = r["vmag"][req]
        outcome = simulate_outcome(
            site=site, telescope=scope, v_mag=DEFAULT_V_MAG if np.isnan(vmag) else float(vmag),
            filter=f, exposure_s=exposure, priority=float(r["priority"][req]),
            conditions=during, altitude_deg=alt, azimuth_deg=az,
            airmass=float(astro.airmass(alt)),
            sky_mag_arcsec2=sim.sky_brightness(ra, dec, datetime.fromtimestamp(mid, tz=UTC), f),
            sun_altitude_deg=sim.ephemeris.sun_altitude(mid),
            hours_since_dusk=sim.ephemeris.hours_since_dusk(mid),
            hours_since_dew_onset=hours_since_dew_onset(site, mid), rng=self.rng)
        reward = outcome.science_value - cfg.slew_cost * overhead / 60.0
        if outcome.success:
            self.row_done[row] += 1
            if r["kind"][req] == KINDS.index("calibration"):
                self.calibrated[k] = True
            if r["alert"][req] and np.isnan(r["first_done"][req]):
                latency_h = (t + duration - r["appears"][req]) / 3600.0
                reward += cfg.alert_bonus * math.exp(-latency_h)
            if np.isnan(r["first_done"][req]):
                r["first_done"][req] = t + duration
        else:
            r["failures"][req] += 1
        self.quality[k].append(outcome.quality)
        self.total_value += outcome.science_value
        self.n_observations += 1
        self.pointing[k] = (float(ra), float(dec))
        self.filter[k] = f
        self.free_at[k] = t + duration
        self.busy_row[k] = row
        self.busy_until[k] = t + duration
        past = self.sim[site.name].conditions(max(t - 1800.0, self.t0))
        record = {"telescope": scope.name, "site": site.name, "t": t, "request": req,
                  "filter": f, "value": outcome.science_value, "success": outcome.success,
                  "reason": outcome.reason,
                  "formula": float(p["value"][a]), "formula_sigma": float(p["sigma"][a]),
                  "value_features": value_matrix(
                      priority=[r["priority"][req] * 0.6 ** (r["failures"][req]
                                                              - (not outcome.success))],
                      exposure_s=[exposure], v_mag=[vmag], airmass=[p["airmass"][a]],
                      cloud=p["cond"].cloud_cover, humidity=p["cond"].humidity,
                      wind_m_s=p["cond"].wind_m_s, seeing_arcsec=p["cond"].seeing_arcsec,
                      sky_v_mag=p["cond"].sky_v_mag_arcsec2, aperture_m=scope.aperture_m,
                      wavelength_nm=[band(f).wavelength_nm], efficiency=[exposure / duration],
                      hours_since_dusk=sim.ephemeris.hours_since_dusk(t),
                      cloud_trend=p["cond"].cloud_cover - past.cloud_cover,
                      failures=[r["failures"][req] - (not outcome.success)],
                      kind=[r["kind"][req]])[0]}
        self.log.append(record)
        return reward, record

    def _fairness_reward(self) -> float:
        c = self._program_completion()
        if c.size == 0 or not np.any(c > 0):
            return 0.0
        jain = float(np.sum(c) ** 2 / (c.size * np.sum(c**2)))
        return self.config.fairness_bonus * jain

    # -- baselines -----------------------------------------------------------------------

    def greedy_action(self) -> int:
        """The greedy baseline's action: the highest value-formula score."""
        p = self._pending
        return int(np.argmax(p["value"])) if p is not None else 0
