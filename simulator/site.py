"""Simulated sites and networks: weather, sky and the outcome of each exposure.

:class:`SimulatedSite` is what a site node's simulated backend (or an RL
environment) talks to: ask it for the conditions at a time, and ask it to
observe; it answers with an :class:`Observation` telling when the telescope is
free again and what the exposure yielded (and which transients of
:mod:`simulator.transients` it detected). :class:`SimulatedNetwork` holds one
per site of a :class:`~control_center.network.Network`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from control_center import astro
from control_center.network import Network, Site, Telescope
from control_center.plugin_api.types import Conditions
from simulator._seeding import stream
from simulator.bands import band
from simulator.horizon import HorizonFrame, to_seconds
from simulator.outcome import Outcome, simulate_outcome
from simulator.sky import sky_brightness
from simulator.telescope import setup_s
from simulator.transients import TransientSky, transient_sky
from simulator.weather import WeatherModel, hours_since_dew_onset

__all__ = ["DEFAULT_V_MAG", "Observation", "SimulatedNetwork", "SimulatedSite"]

DEFAULT_V_MAG = 15.0
"""Magnitude assumed by :meth:`SimulatedSite.observe` when a request gives none."""


@dataclass(frozen=True)
class Observation:
    """One exposure as it happened.

    ``start`` is when the telescope began to move; the shutter was open from
    ``exposure_start`` for ``exposure_s``; ``end`` is after readout, when the
    telescope is free again. Position, airmass and conditions are at mid-exposure.
    ``detections`` are the transients found in the field of a successful
    exposure (dicts with ``ra_deg``, ``dec_deg``, ``mag``, ``snr``, ``detector``
    and the simulator's truth: ``name``, ``kind``, ``true_mag``).
    """

    site: str
    telescope: str
    ra_deg: float
    dec_deg: float
    filter: str
    exposure_s: float
    start: datetime
    exposure_start: datetime
    end: datetime
    altitude_deg: float
    azimuth_deg: float
    conditions: Conditions
    outcome: Outcome
    detections: tuple[dict, ...] = ()

    @property
    def success(self) -> bool:
        return self.outcome.success

    @property
    def science_value(self) -> float:
        return self.outcome.science_value

    @property
    def overhead_s(self) -> float:
        """Slew, settle, filter change and readout: everything but the exposure."""
        return (self.end - self.start).total_seconds() - self.exposure_s


def _separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    c = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


class SimulatedSite:
    """One site's simulated sky, weather and telescopes from ``start`` to ``end``.

    Parameters
    ----------
    site : Site
    seed : int
        Run seed. Streams are keyed by it and the site's name, so a site's weather
        and luck do not depend on which other sites are simulated.
    start, end : datetime
        Span of the simulation (timezone-aware; naive means UTC).
    step_s : float
        Weather grid step.
    transients : TransientSky, optional
        The sky's transients; default the shared one of ``seed``
        (:func:`simulator.transients.transient_sky`), the same at every site.
    """

    def __init__(self, site: Site, seed: int, start: datetime, end: datetime, *,
                 step_s: float = 300.0, transients: TransientSky | None = None) -> None:
        self.site, self.seed, self.start, self.end = site, seed, start, end
        self._transients = transients
        self.weather = WeatherModel(site, seed, start, end, step_s)
        self.ephemeris = self.weather.ephemeris
        self.frame = HorizonFrame(site.latitude_deg, site.longitude_deg, start + (end - start) / 2)
        self.telescopes: dict[str, Telescope] = {t.name: t for t in site.telescopes}
        self._extinction_v = band("V").extinction + site.effects.dust_extinction_mag

    @property
    def name(self) -> str:
        return self.site.name

    @property
    def transients(self) -> TransientSky:
        """The transients of the simulated sky (built on first use)."""
        if self._transients is None:
            self._transients = transient_sky(self.seed)
        return self._transients

    def conditions(self, t: datetime) -> Conditions:
        """Weather and zenith sky at ``t``."""
        return self.weather.conditions(t)

    def condition_changes(self, min_interval_s: float = 600.0) -> list[tuple[datetime, Conditions]]:
        """When the conditions changed enough to report (see :meth:`WeatherModel.changes`)."""
        return self.weather.changes(min_interval_s)

    def altaz(self, ra_deg: float, dec_deg: float, t: datetime) -> tuple[float, float]:
        """Altitude and azimuth (deg) of a target at ``t`` (fast, ~0.01 deg)."""
        return self.frame.altaz(ra_deg, dec_deg, t)

    def sky_brightness(self, ra_deg: float, dec_deg: float, t: datetime,
                       filter: str = "V") -> float:
        """Sky brightness (mag/arcsec^2) toward a target at ``t``, moon and twilight included."""
        t_s = to_seconds(t)
        return self._sky(ra_deg, dec_deg, self.frame.altaz(ra_deg, dec_deg, t_s)[0], t_s, filter)

    def _sky(self, ra: float, dec: float, alt: float, t_s: float, filter: str) -> float:
        moon_ra, moon_dec, moon_alt, moon_illum = self.ephemeris.moon(t_s)
        return float(sky_brightness(
            alt, _separation_deg(ra, dec, moon_ra, moon_dec), moon_alt, moon_illum,
            self.ephemeris.sun_altitude(t_s),
            dark_sky_v_mag=self.site.climate.dark_sky_v_mag_arcsec2,
            extinction_v=self._extinction_v, filter=filter))

    def observe(self, telescope_name: str, target_ra_deg: float, target_dec_deg: float,
                v_mag: float | None, filter: str, exposure_s: float, priority: float,
                start: datetime, pointing: tuple[float, float] | None = None,
                current_filter: str | None = None) -> Observation:
        """Move to a target, expose and read out; return what happened.

        Parameters
        ----------
        telescope_name : str
            A telescope of this site.
        target_ra_deg, target_dec_deg : float
            The target (ICRS).
        v_mag : float or None
            Its V magnitude; None means :data:`DEFAULT_V_MAG`.
        filter : str
            One of the telescope's filters.
        exposure_s, priority : float
            Shutter time, and the request's priority (scales the science value).
        start : datetime
            When the telescope starts to move.
        pointing, current_filter : optional
            Where the telescope points now (RA, Dec) and its filter; None if unknown.

        Notes
        -----
        The random draws depend only on the seed, site, telescope and ``start``, so
        alternative choices at the same moment face the same luck.
        """
        try:
            scope = self.telescopes[telescope_name]
        except KeyError:
            raise KeyError(f"no telescope {telescope_name!r} at site {self.name!r}; "
                           f"have {sorted(self.telescopes)}") from None
        if filter not in scope.filters:
            raise ValueError(f"telescope {telescope_name!r} has no filter {filter!r}; "
                             f"has {list(scope.filters)}")
        if not exposure_s > 0:
            raise ValueError(f"exposure_s must be positive, got {exposure_s}")
        t0 = to_seconds(start)
        from_ra, from_dec = pointing if pointing is not None else (None, None)
        shutter = t0 + setup_s(scope, current_filter, filter, from_ra, from_dec,
                               target_ra_deg, target_dec_deg)
        mid = shutter + exposure_s / 2.0
        samples = [self.weather.conditions(x) for x in (shutter, mid, shutter + exposure_s)]
        closed = next((c for c in samples if not c.open), None)
        during = closed or replace(samples[1], cloud_cover=max(c.cloud_cover for c in samples))
        alt, az = self.frame.altaz(target_ra_deg, target_dec_deg, mid)
        airmass = float(astro.airmass(alt))
        outcome = simulate_outcome(
            site=self.site, telescope=scope,
            v_mag=DEFAULT_V_MAG if v_mag is None else v_mag, filter=filter,
            exposure_s=exposure_s, priority=priority, conditions=during, altitude_deg=alt,
            azimuth_deg=az, airmass=airmass,
            sky_mag_arcsec2=self._sky(target_ra_deg, target_dec_deg, alt, mid, filter),
            sun_altitude_deg=self.ephemeris.sun_altitude(mid),
            hours_since_dusk=self.ephemeris.hours_since_dusk(mid),
            hours_since_dew_onset=hours_since_dew_onset(self.site, mid),
            rng=stream(self.seed, self.name, "observe", telescope_name, str(round(t0 * 1000))))
        detections: tuple[dict, ...] = ()
        if outcome.success and math.isfinite(outcome.limiting_mag):
            detections = tuple(self.transients.detections(
                target_ra_deg, target_dec_deg, scope.field_of_view_arcmin / 60.0, filter, mid,
                outcome.limiting_mag,
                stream(self.seed, self.name, "detections", telescope_name, str(round(t0 * 1000))),
                fwhm_arcsec=outcome.seeing_arcsec))
        as_dt = datetime.fromtimestamp
        return Observation(
            site=self.name, telescope=telescope_name, ra_deg=target_ra_deg,
            dec_deg=target_dec_deg, filter=filter, exposure_s=exposure_s, start=start,
            exposure_start=as_dt(shutter, tz=UTC),
            end=as_dt(shutter, tz=UTC) + timedelta(seconds=exposure_s + scope.readout_s),
            altitude_deg=alt, azimuth_deg=az, conditions=during, outcome=outcome,
            detections=detections)


class SimulatedNetwork:
    """One :class:`SimulatedSite` per site of ``network``, all sharing one seed.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> from control_center.network import load_network
    >>> sim = SimulatedNetwork(load_network(), seed=1,
    ...                        start=datetime(2025, 3, 2, 0, tzinfo=UTC),
    ...                        end=datetime(2025, 3, 2, 10, tzinfo=UTC))
    >>> sorted(sim.conditions(datetime(2025, 3, 2, 5, tzinfo=UTC)))
    ['cerro-pachon', 'hanle', 'la-palma']
    """

    def __init__(self, network: Network, seed: int, start: datetime, end: datetime, *,
                 step_s: float = 300.0) -> None:
        self.network, self.seed, self.start, self.end = network, seed, start, end
        self.sites: dict[str, SimulatedSite] = {
            s.name: SimulatedSite(s, seed, start, end, step_s=step_s) for s in network.sites}
        self._by_telescope = {t: sim for sim in self.sites.values() for t in sim.telescopes}

    def __getitem__(self, site_name: str) -> SimulatedSite:
        return self.sites[site_name]

    def links(self) -> dict[str, SimulatedSite]:
        """The simulated sites by name: what the control center's night loop talks to."""
        return dict(self.sites)

    def site_of(self, telescope_name: str) -> SimulatedSite:
        """The simulated site that holds a telescope."""
        try:
            return self._by_telescope[telescope_name]
        except KeyError:
            raise KeyError(f"no telescope {telescope_name!r} in network "
                           f"{self.network.name!r}") from None

    def conditions(self, t: datetime) -> dict[str, Conditions]:
        """Every site's conditions at ``t``, by site name."""
        return {name: sim.conditions(t) for name, sim in self.sites.items()}

    def condition_changes(self, min_interval_s: float = 600.0,
                          ) -> list[tuple[datetime, str, Conditions]]:
        """All sites' reportable changes, as (time, site name, conditions), in time order."""
        out = [(t, name, c) for name, sim in self.sites.items()
               for t, c in sim.condition_changes(min_interval_s)]
        return sorted(out, key=lambda row: (row[0], row[1]))

    def observe(self, telescope_name: str, *args, **kwargs) -> Observation:
        """:meth:`SimulatedSite.observe` on the site that holds ``telescope_name``."""
        return self.site_of(telescope_name).observe(telescope_name, *args, **kwargs)
