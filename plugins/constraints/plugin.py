"""The constraints plugin: each candidate is checked against every hard limit at once.

A candidate's first broken constraint is recorded with the value that broke
it and the limit, in the order of :data:`plugins.constraints.limits.CONSTRAINTS`:
coordinates (not finite, or beyond a pole), instrument, time window
(not-before, not-after), twilight, weather (cloud cover, humidity, wind, then a
closure for another reason), seeing, altitude (the telescope's limit raised by
the horizon maps), airmass, moon, setting (does slew + setup + exposure fit
before the target sinks below its limit anywhere along its track?), night-end,
exclusive (another telescope is on it). Calibrations are exempt from twilight,
Moon, seeing and night-end, opportunistic work has a looser seeing limit
(:class:`Limits`).

Each check runs, vectorised, on the candidates that passed the checks before
it, so a closed dome or daylight costs almost nothing. The Sun, the Moon and the
Earth's orientation are computed once per night for all sites
(:class:`SpanEphemeris`); target positions are computed analytically at the
times a check needs (now, and along each candidate's track).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import attrgetter, itemgetter

import numpy as np

from control_center import astro
from control_center.plugin_api import (
    Candidate,
    DecisionContext,
    NightPlan,
    Rejection,
    hookimpl,
)
from plugins.constraints.ephemeris import SpanEphemeris, to_seconds
from plugins.constraints.limits import Limits
from plugins.constraints.sky import SiteSky, UsableAltitude
from simulator.telescope import expected_duration_s

__all__ = ["Constraints"]

SPAN_MARGIN = timedelta(hours=6)
"""The ephemeris covers the night and this much on either side (long exposures)."""
TRACK_STEP_S = 900.0
"""The setting check samples each candidate's track at least this often..."""
MAX_TRACK_SAMPLES = 48
"""...with at most this many samples (exposures longer than 12 hours are sampled sparser)."""

_RA, _DEC, _KIND, _KEY = (attrgetter(a) for a in ("ra_deg", "dec_deg", "kind", "key"))


class Constraints:
    """Stateful constraint plugin: the night's ephemeris is built once and cached.

    Parameters
    ----------
    limits : Limits, optional
        The hard limits (default: :class:`Limits`).
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._ephemeris: SpanEphemeris | None = None
        self._skies: dict[str, SiteSky] = {}

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        self._ephemeris_for(night.start, night.end)

    def _ephemeris_for(self, start: datetime, end: datetime) -> SpanEphemeris:
        with self._lock:
            eph = self._ephemeris
            if eph is None or not eph.covers(start, end):
                eph = SpanEphemeris(start - SPAN_MARGIN, end + SPAN_MARGIN)
                self._ephemeris, self._skies = eph, {}
            return eph

    def sky(self, context: DecisionContext) -> SiteSky:
        """The deciding telescope's site sky for the context's night (cached)."""
        eph = self._ephemeris_for(context.night.start, context.night.end)
        site = context.telescope.site
        with self._lock:
            sky = self._skies.get(site.name)
            if sky is None or sky.ephemeris is not eph:
                sky = self._skies[site.name] = SiteSky(site, eph)
            return sky

    @hookimpl
    def openastro_filter(self, context: DecisionContext,
                         candidates: Sequence[Candidate]) -> list[Rejection]:
        if not candidates:
            return []
        return _Evaluation(self.limits, context, self.sky(context), candidates).rejections()


class _Evaluation:
    """One filter call: the candidates' columns and what the checks computed about them."""

    def __init__(self, limits: Limits, context: DecisionContext, sky: SiteSky,
                 candidates: Sequence[Candidate]) -> None:
        self.lim, self.context, self.sky, self.candidates = limits, context, sky, candidates
        self.state = context.telescope
        self.scope = context.telescope.telescope
        self.usable = UsableAltitude(context.telescope.site, self.scope)
        self.now_s = to_seconds(context.now)
        self.n = n = len(candidates)
        self.ra = np.fromiter(map(_RA, candidates), float, n)
        self.dec = np.fromiter(map(_DEC, candidates), float, n)
        kinds = list(map(_KIND, candidates))
        self._kind_list = sorted(set(kinds))
        codes = {k: i for i, k in enumerate(self._kind_list)}
        self._kind_code = np.fromiter(map(codes.__getitem__, kinds), int, n)
        self._filters: np.ndarray | None = None
        self._vectors: np.ndarray | None = None
        self._alt = np.full(n, np.nan)
        self._az = np.full(n, np.nan)
        self._duration = np.full(n, np.nan)

    # -- per-candidate facts, computed for the candidates that need them -----------------

    def column(self, name: str, idx: np.ndarray | None = None) -> list:
        """The attribute ``name`` of every candidate (or of those in ``idx``)."""
        chosen = self.candidates if idx is None else _pick(self.candidates, idx.tolist())
        return list(map(attrgetter(name), chosen))

    def bounds(self, name: str) -> np.ndarray | None:
        """POSIX seconds of a time-window field (NaN where None); None if nobody has one."""
        times = self.column(name)
        if times.count(None) == self.n:
            return None
        given = np.array([t is not None for t in times])
        out = np.full(self.n, np.nan)
        out[given] = [to_seconds(t) for t in _pick(times, np.flatnonzero(given).tolist())]
        return out

    @property
    def filters(self) -> np.ndarray:
        if self._filters is None:
            self._filters = np.array(self.column("filter"), dtype=object)
        return self._filters

    def by_kind(self, table: Callable[[str], object], dtype=float) -> np.ndarray:
        """A per-candidate array from a function of the candidate's kind."""
        return np.array([table(k) for k in self._kind_list], dtype=dtype)[self._kind_code]

    def applies(self, constraint: str) -> np.ndarray:
        """Per candidate: does ``constraint`` apply to its kind?"""
        return self.by_kind(lambda k: constraint not in self.lim.exempt(k), bool)

    def vectors(self, idx: np.ndarray) -> np.ndarray:
        if self._vectors is None:
            eph = self.sky.ephemeris
            self._vectors = self.sky.of_date(eph.target_vectors(self.ra, self.dec))
        return self._vectors[:, idx]

    def altaz(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        todo = idx[np.isnan(self._alt[idx])]
        if todo.size:
            alt, az = self.sky.altaz(self.vectors(todo), self.now_s,
                                     with_azimuth=not self.usable.constant)
            self._alt[todo] = alt
            self._az[todo] = 0.0 if az is None else az
        return self._alt[idx], self._az[idx]

    def duration(self, idx: np.ndarray) -> np.ndarray:
        """Seconds from now until the telescope would be free again (slew, setup, exposure)."""
        todo = idx[np.isnan(self._duration[idx])]
        if todo.size:
            s = self.state
            exposure = np.fromiter(self.column("exposure_s", todo), float, todo.size)
            self._duration[todo] = expected_duration_s(
                self.scope, s.pointing_ra_deg, s.pointing_dec_deg, s.filter, self.ra[todo],
                self.dec[todo], self.filters[todo].tolist(), exposure)
        return self._duration[idx]

    def end_iso(self, sel: np.ndarray) -> list[str]:
        return [_iso(self.now_s + d) for d in self.duration(sel).tolist()]

    # -- the checks, in attribution order -----------------------------------------------

    def rejections(self) -> list[Rejection]:
        alive = np.arange(self.n)
        found: list[tuple[np.ndarray, str, list, list]] = []
        for name, check in self._checks():
            if alive.size == 0:
                break
            result = check(alive)
            if result is None:
                continue
            broken, value, limit = result
            sel = alive[broken]
            if sel.size:
                found.append((sel, name, _values(value, broken, sel), _values(limit, broken, sel)))
                alive = alive[~broken]
        if not found:
            return []
        out: list[Rejection] = []
        for sel, name, values, limits in found:
            keys = map(_KEY, _pick(self.candidates, sel.tolist()))
            out.extend(map(Rejection, keys, repeat(name), values, limits))
        order = np.argsort(np.concatenate([f[0] for f in found]), kind="stable")
        return _pick(out, order.tolist())

    def _checks(self):
        c, lim = self.context.conditions, self.lim
        yield "coordinates", self._coordinates
        yield "instrument", self._instrument
        yield "not-before", self._not_before
        yield "not-after", self._not_after
        yield "twilight", self._twilight
        yield "cloud-cover", _weather(c.cloud_cover, lim.max_cloud_cover, 3)
        yield "humidity", _weather(c.humidity, lim.max_humidity, 3)
        yield "wind", _weather(c.wind_m_s, lim.max_wind_m_s, 1)
        yield "weather", lambda idx: (np.full(idx.size, not c.open), c.reason or "closed", "open")
        yield "seeing", self._seeing
        yield "altitude", self._altitude
        yield "airmass", self._airmass
        yield "moon", self._moon
        yield "setting", self._setting
        yield "night-end", self._night_end
        yield "exclusive", self._exclusive

    def _coordinates(self, idx):
        ra, dec = self.ra[idx], self.dec[idx]
        broken = ~(np.isfinite(ra) & (np.abs(dec) <= 90.0))
        if not broken.any():
            return None
        text = np.array([f"ra {r!r}, dec {d!r}" for r, d in zip(ra.tolist(), dec.tolist(),
                                                                    strict=True)], dtype=object)
        return broken, text, "finite ra, dec in [-90, 90]"

    def _instrument(self, idx):
        have = set(self.scope.filters)
        carried = np.fromiter(map(have.__contains__, self.filters[idx]), bool, idx.size)
        return ~carried, self.filters[idx], "|".join(self.scope.filters)

    def _not_before(self, idx):
        every = self.bounds("not_before")
        if every is None:
            return None
        broken = every[idx] > self.now_s        # NaN (no bound) compares False
        return broken, self.context.now.isoformat(timespec="seconds"), _iso_of(every)

    def _not_after(self, idx):
        every = self.bounds("not_after")
        if every is None:
            return None
        bound = every[idx]
        has = ~np.isnan(bound)
        broken = np.zeros(idx.size, dtype=bool)
        broken[has] = self.now_s + self.duration(idx[has]) > bound[has]
        return broken, self.end_iso, _iso_of(every)

    def _twilight(self, idx):
        sun_alt = float(self.sky.sun_altitude(self.now_s))
        if sun_alt <= self.lim.twilight_sun_alt_deg:
            return None
        return self.applies("twilight")[idx], round(sun_alt, 2), self.lim.twilight_sun_alt_deg

    def _seeing(self, idx):
        seeing = self.context.conditions.seeing_arcsec
        limit = self.by_kind(self.lim.max_seeing)[idx]
        return (self.applies("seeing")[idx] & (seeing > limit)), round(seeing, 2), limit

    def _altitude(self, idx):
        alt, az = self.altaz(idx)
        floor = self.usable.at(az)
        return alt < floor, np.round(alt, 2), np.round(floor, 2)

    def _airmass(self, idx):
        airmass = astro.airmass(self.altaz(idx)[0])
        return airmass > self.lim.max_airmass, np.round(airmass, 3), self.lim.max_airmass

    def _moon(self, idx):
        unit, moon_alt, illumination = self.sky.moon(self.now_s)
        if float(moon_alt) <= 0.0:
            return None
        limit = self.lim.moon_separation(float(illumination))
        cos_sep = unit @ self.vectors(idx)
        broken = self.applies("moon")[idx] & (cos_sep > math.cos(math.radians(limit)))
        separation = np.degrees(np.arccos(np.clip(cos_sep, -1.0, 1.0)))
        return broken, np.round(separation, 2), round(limit, 2)

    def _setting(self, idx):
        duration = self.duration(idx)
        samples = min(MAX_TRACK_SAMPLES, max(1, math.ceil(float(duration.max()) / TRACK_STEP_S)))
        fractions = np.arange(1, samples + 1) / samples
        times = self.now_s + duration[:, None] * fractions[None, :]
        alt, az = self.sky.altaz(self.vectors(idx)[:, :, None], times,
                                 with_azimuth=not self.usable.constant)
        floor = self.usable.at(az) if az is not None else np.full(alt.shape,
                                                                  self.usable.floor_deg)
        worst = np.argmin(alt - floor, axis=1)
        rows = np.arange(idx.size)
        alt, floor = alt[rows, worst], floor[rows, worst]
        return alt < floor, np.round(alt, 2), np.round(floor, 2)

    def _night_end(self, idx):
        dark_end = _dark_end(self.context)
        if dark_end is None:
            return None
        late = self.now_s + self.duration(idx) > to_seconds(dark_end)
        return (self.applies("night-end")[idx] & late, self.end_iso,
                dark_end.isoformat(timespec="seconds"))

    def _exclusive(self, idx):
        busy = set(self.context.busy_targets.values())
        if not busy:
            return None
        ids = self.column("request_id", idx)
        broken = np.fromiter(map(busy.__contains__, ids), bool, idx.size)
        return broken, np.array(ids, dtype=object), "not being observed elsewhere"


def _weather(value: float, limit: float, digits: int):
    """A check rejecting every candidate when a site measurement exceeds its limit."""
    def check(idx):
        if not value > limit:
            return None
        return np.ones(idx.size, dtype=bool), round(float(value), digits), limit
    return check


def _values(value, broken: np.ndarray, sel: np.ndarray) -> list:
    """The recorded value (or limit) of each rejected candidate.

    ``value`` is a scalar, an array aligned with the checked candidates, or a
    function of the rejected candidates' indices.
    """
    if callable(value):
        return list(value(sel))
    if isinstance(value, np.ndarray):
        return value[broken].tolist()
    return [value] * int(sel.size)


def _iso_of(times_s: np.ndarray) -> Callable[[np.ndarray], list[str]]:
    """A function giving the ISO times of the selected candidates."""
    return lambda sel: [_iso(t) for t in times_s[sel].tolist()]


def _pick(seq: Sequence, idx: list[int]) -> list:
    """``[seq[i] for i in idx]``, at C speed."""
    if len(idx) < 2:
        return [seq[i] for i in idx]
    return list(itemgetter(*idx)(seq))


def _iso(t_s: float) -> str:
    return datetime.fromtimestamp(round(t_s), tz=UTC).isoformat(timespec="seconds")


def _dark_end(context: DecisionContext) -> datetime | None:
    """End of the dark interval the decision is in (None if not in one)."""
    for begin, end in context.night.dark.get(context.telescope.site.name, ()):
        if begin <= context.now < end:
            return end
    return None
