"""Transients of the simulated sky: supernovae in galaxies, flares and fast transients anywhere.

The population is a function of the seed alone (never of a simulated span), so
every site of a network, and a site node simulating another night, sees the
same sky. Time is cut into bins; each bin's transients are drawn from a stream
keyed by the seed, the kind and the bin index:

==================  ==================================  ==============================
kind                where                               light curve (r band)
==================  ==================================  ==============================
``supernova``       generated transient hosts           rise 12-22 d, decline
                    (:func:`~simulator.catalogue.       0.02-0.08 mag/day, reddening
                    transient_hosts`) and OpenNGC        0.02 mag/day after peak
                    galaxies (V <= 12) of the demo
                    programme, offset from the centre
``flare``           anywhere (uniform on the sphere)    rise 3-15 min, decline over
                                                        20-90 min, very blue
``fast-transient``  anywhere                            rise 1-4 d, decline
                                                        0.15-0.6 mag/day, blue
==================  ==================================  ==============================

A light curve is linear in magnitude: from the explosion (or onset) the source
brightens by ``rise_mag_per_day`` up to its peak, then fades by
``decline_mag_per_day``; before the explosion it does not exist. The colour
``g - r`` at peak reddens after it; another band's magnitude is the r one plus
the colour scaled by effective wavelength (``(lambda_r - lambda) / (lambda_r -
lambda_g)``).

Rates are tuned for a lively demo, not measured: a supernova a year in 35 % of
the generated hosts and 4 % of the bright galaxies (a real L* galaxy has about
0.01), and the flare and fast-transient sky densities below give a ten-hour
night of the demo network a handful of detections.

:meth:`TransientSky.detections` is what a simulated exposure finds: the
transients in its field brighter than its limiting magnitude, with noisy
magnitudes, SNR and positions.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from simulator._seeding import stream
from simulator.bands import band
from simulator.horizon import to_seconds

__all__ = ["KINDS", "SkyTransient", "TransientSky", "transient_sky"]

KINDS = ("supernova", "flare", "fast-transient")
"""The values of :attr:`SkyTransient.kind`."""

DAY_S = 86400.0
_SKY_DEG2 = 4.0 * math.pi * (180.0 / math.pi) ** 2
_LIMIT_SIGNAL_E = 400.0
"""Photo-electrons of a source at the 5-sigma limit: sets how SNR grows with flux."""
_LIMIT_BACKGROUND_E = _LIMIT_SIGNAL_E**2 / 25.0 - _LIMIT_SIGNAL_E
"""Background variance (e-^2) in the aperture that makes that source SNR 5."""
_R_NM, _G_NM = band("r").wavelength_nm, band("g").wavelength_nm


@dataclass(frozen=True)
class SkyTransient:
    """One transient of the simulated sky.

    Attributes
    ----------
    name : str
        ``SN-<host>-<year bin>``, ``FL-<day bin>-<i>`` or ``FT-<bin>-<i>``.
    kind : str
        One of :data:`KINDS`.
    host : str
        The host galaxy's name, empty for transients without one.
    ra_deg, dec_deg : float
        ICRS position.
    explosion : datetime
        When it appeared (UTC).
    peak_time : datetime
        When it is brightest.
    peak_mag : float
        r-band magnitude at peak.
    rise_mag_per_day, decline_mag_per_day : float
        Brightening before the peak and fading after it.
    colour_g_r : float
        ``g - r`` at peak.
    reddening_per_day : float
        Growth of ``g - r`` after the peak (up to ``max_colour_g_r``).
    max_colour_g_r : float
    """

    name: str
    kind: str
    host: str
    ra_deg: float
    dec_deg: float
    explosion: datetime
    peak_time: datetime
    peak_mag: float
    rise_mag_per_day: float
    decline_mag_per_day: float
    colour_g_r: float
    reddening_per_day: float
    max_colour_g_r: float

    def mag(self, filter: str, time: datetime | float) -> float:
        """Magnitude in ``filter`` at ``time`` (``inf`` before the explosion)."""
        t = to_seconds(time) if isinstance(time, datetime) else float(time)
        cols = {"t_peak": np.array([to_seconds(self.peak_time)]),
                "peak": np.array([self.peak_mag]),
                "rise_days": np.array([(to_seconds(self.peak_time) - to_seconds(self.explosion))
                                       / DAY_S]),
                "rise": np.array([self.rise_mag_per_day]),
                "decline": np.array([self.decline_mag_per_day]),
                "g_r": np.array([self.colour_g_r]), "redden": np.array([self.reddening_per_day]),
                "max_g_r": np.array([self.max_colour_g_r])}
        return float(_band_mags(cols, filter, t)[0])


def _band_mags(cols: dict[str, np.ndarray], filter: str, t_s: float) -> np.ndarray:
    """Magnitudes in ``filter`` at ``t_s`` of the transients in ``cols`` (vectorised)."""
    days = (t_s - cols["t_peak"]) / DAY_S
    after = np.maximum(days, 0.0)
    r = cols["peak"] + np.where(days < 0.0, -days * cols["rise"], after * cols["decline"])
    g_r = np.minimum(cols["g_r"] + after * cols["redden"], cols["max_g_r"])
    colour = g_r * (_R_NM - band(filter).wavelength_nm) / (_R_NM - _G_NM)
    return np.where(days < -cols["rise_days"], np.inf, r + colour)


@dataclass(frozen=True)
class _Kind:
    """How one kind of transient is drawn, bin by bin."""

    name: str
    bin_s: float
    bins_before: int
    """Earlier bins whose transients may still be visible."""
    bins_after: int
    """Later bins whose transients may already be visible (rising before their peak bin)."""


_SUPERNOVA = _Kind("supernova", 365.25 * DAY_S, 1, 1)
_FLARE = _Kind("flare", DAY_S, 1, 0)
_FAST = _Kind("fast-transient", 10 * DAY_S, 3, 1)


class TransientSky:
    """The transients of the simulated sky for one seed.

    Parameters
    ----------
    seed : int
        The run (network) seed; the generated hosts are those of
        :func:`simulator.catalogue.transient_hosts` with this seed.
    n_hosts : int
        Generated transient hosts considered (the demo programme draws from 100).
    host_sn_rate, galaxy_sn_rate : float
        Probability of a supernova per year in a generated host, and in an
        OpenNGC galaxy brighter than ``galaxy_max_v_mag``.
    galaxy_max_v_mag : float
    flares_per_deg2_per_hour, fast_per_deg2_per_day : float
        Sky densities of the transients without a host.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> sky = TransientSky(1)
    >>> t = datetime(2026, 3, 22, 0, tzinfo=UTC)
    >>> sn = next(s for s in sky.active(t, max_mag=19) if s.kind == "supernova")
    >>> found = sky.detections(sn.ra_deg, sn.dec_deg, 0.3, "r", t, 21.0,
    ...                        np.random.default_rng(0))
    >>> sn.name in [d["name"] for d in found]
    True
    """

    def __init__(self, seed: int, *, n_hosts: int = 100, host_sn_rate: float = 0.35,
                 galaxy_sn_rate: float = 0.04, galaxy_max_v_mag: float = 12.0,
                 flares_per_deg2_per_hour: float = 0.035,
                 fast_per_deg2_per_day: float = 5e-4) -> None:
        for name, value in (("host_sn_rate", host_sn_rate), ("galaxy_sn_rate", galaxy_sn_rate)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        for name, value in (("flares_per_deg2_per_hour", flares_per_deg2_per_hour),
                            ("fast_per_deg2_per_day", fast_per_deg2_per_day)):
            if not value >= 0.0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.seed, self.n_hosts = seed, n_hosts
        self.host_sn_rate, self.galaxy_sn_rate = host_sn_rate, galaxy_sn_rate
        self.galaxy_max_v_mag = galaxy_max_v_mag
        self.flares_per_deg2_per_hour = flares_per_deg2_per_hour
        self.fast_per_deg2_per_day = fast_per_deg2_per_day
        self._hosts: dict[str, np.ndarray] | None = None
        self._bins: OrderedDict[tuple[str, int], dict[str, np.ndarray]] = OrderedDict()

    # -- the population -------------------------------------------------------------------

    def _host_table(self) -> dict[str, np.ndarray]:
        """Generated hosts then bright galaxies: name, position, V, scale of SN offsets."""
        if self._hosts is None:
            from simulator.catalogue import transient_hosts
            from simulator.starfield import galaxies_in_field

            sim = transient_hosts(self.seed, self.n_hosts)
            ngc = galaxies_in_field(0.0, 0.0, 180.0, mag_limit=self.galaxy_max_v_mag)
            self._hosts = {
                "name": np.array([h.name for h in sim] + list(ngc.names)),
                "ra": np.concatenate([[h.ra_deg for h in sim], ngc.ra_deg]),
                "dec": np.concatenate([[h.dec_deg for h in sim], ngc.dec_deg]),
                "v": np.concatenate([[h.v_mag for h in sim], ngc.mag_in("V")]),
                # exponential-disc scale of the offset (arcsec): ~6" for distant hosts
                "scale": np.concatenate([np.full(len(sim), 6.0), 0.2 * 30.0 * ngc.major_arcmin]),
                "rate": np.concatenate([np.full(len(sim), self.host_sn_rate),
                                        np.full(len(ngc), self.galaxy_sn_rate)]),
                "generated": np.concatenate([np.ones(len(sim), bool), np.zeros(len(ngc), bool)]),
            }
        return self._hosts

    def _bin(self, kind: _Kind, k: int) -> dict[str, np.ndarray]:
        key = (kind.name, k)
        cols = self._bins.get(key)
        if cols is None:
            rng = stream(self.seed, "transients", kind.name, k)
            start = k * kind.bin_s
            if kind is _SUPERNOVA:
                cols = self._supernovae(rng, start, k)
            elif kind is _FLARE:
                cols = _hostless(rng, start, kind, k, "FL", self.flares_per_deg2_per_hour * 24.0,
                                 peak=lambda n: np.maximum(22.0 - rng.exponential(1.5, n), 12.0),
                                 rise_days=(3 / 1440, 15 / 1440), rise_mag=2.5,
                                 decline_days=(20 / 1440, 90 / 1440), decline_mag=2.5,
                                 g_r=(-0.5, 0.15), redden=10.0)
            else:
                cols = _hostless(rng, start, kind, k, "FT", self.fast_per_deg2_per_day,
                                 peak=lambda n: rng.uniform(16.5, 21.0, n),
                                 rise_days=(1.0, 4.0), rise_mag=None,
                                 decline_days=None, decline_mag=None,
                                 g_r=(-0.3, 0.1), redden=0.05)
            order = np.argsort(cols["dec"], kind="stable")
            cols = {name: value[order] for name, value in cols.items()}
            self._bins[key] = cols
            while len(self._bins) > 32:
                self._bins.popitem(last=False)
        return cols

    def _supernovae(self, rng: np.random.Generator, start: float, k: int) -> dict[str, np.ndarray]:
        hosts = self._host_table()
        n = len(hosts["name"])
        u = rng.random((n, 10))      # one row per host: a host's draws do not depend on others
        has = u[:, 0] < hosts["rate"]
        t_peak = start + u[:, 1] * _SUPERNOVA.bin_s
        rise_days = 12.0 + 10.0 * u[:, 2]
        brighter = np.where(hosts["generated"], 2.5 * u[:, 3], 1.5 + 3.0 * u[:, 3])
        offset = -hosts["scale"] * np.log1p(-0.999 * u[:, 4]) / 3600.0
        angle = 2.0 * np.pi * u[:, 5]
        dec = np.clip(hosts["dec"] + offset * np.cos(angle), -90.0, 90.0)
        ra = (hosts["ra"] + offset * np.sin(angle)
              / np.maximum(np.cos(np.radians(hosts["dec"])), 1e-3)) % 360.0
        cols = {"ra": ra, "dec": dec, "t_peak": t_peak, "peak": hosts["v"] + brighter,
                "rise_days": rise_days, "rise": (4.0 + 2.0 * u[:, 6]) / rise_days,
                "decline": 0.02 + 0.06 * u[:, 7], "g_r": -0.05 + 0.2 * (u[:, 8] - 0.5),
                "redden": np.full(n, 0.02), "max_g_r": np.full(n, 1.2),
                "name": np.array([f"SN-{h}-{k}" for h in hosts["name"]]),
                "kind": np.full(n, "supernova"), "host": hosts["name"]}
        return {name: value[has] for name, value in cols.items()}

    def _columns_at(self, time_s: float, dec_lo: float, dec_hi: float,
                    ) -> list[dict[str, np.ndarray]]:
        """Slices (by declination) of every bin that may hold transients visible at ``time_s``."""
        out = []
        for kind in (_SUPERNOVA, _FLARE, _FAST):
            k0 = math.floor(time_s / kind.bin_s)
            for k in range(k0 - kind.bins_before, k0 + kind.bins_after + 1):
                cols = self._bin(kind, k)
                i0, i1 = np.searchsorted(cols["dec"], [dec_lo, dec_hi])
                if i1 > i0:
                    out.append({name: value[i0:i1] for name, value in cols.items()})
        return out

    def active(self, time: datetime | float, *, ra_deg: float | None = None,
               dec_deg: float | None = None, radius_deg: float = 180.0,
               filter: str = "r", max_mag: float = 30.0) -> list[SkyTransient]:
        """Transients that exist at ``time`` (brighter than ``max_mag`` in ``filter``).

        With ``ra_deg``/``dec_deg`` only those within ``radius_deg`` of that point.
        Sorted by magnitude, brightest first.
        """
        t = to_seconds(time) if isinstance(time, datetime) else float(time)
        if ra_deg is None or dec_deg is None:
            ra_deg, dec_deg, radius_deg = 0.0, 0.0, 180.0
        out = []
        for cols in self._columns_at(t, dec_deg - radius_deg, dec_deg + radius_deg):
            near = _separation_deg(cols["ra"], cols["dec"], ra_deg, dec_deg) <= radius_deg
            mags = _band_mags(cols, filter, t)
            for i in np.flatnonzero(near & (mags <= max_mag)):
                out.append((float(mags[i]), _transient(cols, i)))
        return [s for _, s in sorted(out, key=lambda pair: (pair[0], pair[1].name))]

    # -- what an exposure finds -------------------------------------------------------------

    def detections(self, ra_deg: float, dec_deg: float, fov_deg: float, filter: str,
                   time: datetime | float, limiting_mag: float, rng: np.random.Generator, *,
                   fwhm_arcsec: float = 1.2) -> list[dict]:
        """Transients found in a square field: those whose measured SNR reaches 5.

        Parameters
        ----------
        ra_deg, dec_deg : float
            Field centre (ICRS).
        fov_deg : float
            Side of the (square, north-up) field.
        filter : str
        time : datetime or float
            Mid-exposure (UTC datetime or POSIX seconds).
        limiting_mag : float
            Magnitude reaching SNR 5 in this exposure.
        rng : numpy.random.Generator
            Source of the measurement noise (flux and position).
        fwhm_arcsec : float
            Image FWHM: sets the position errors.

        Returns
        -------
        list of dict
            One per detection, sorted by name: ``ra_deg``, ``dec_deg``, ``mag``
            (measured), ``snr`` (measured), ``detector`` (``"simulator"``) and the
            truth: ``name``, ``kind``, ``true_mag``.
        """
        if not fov_deg > 0:
            raise ValueError(f"fov_deg must be positive, got {fov_deg}")
        band(filter)
        if not math.isfinite(limiting_mag):
            return []
        t = to_seconds(time) if isinstance(time, datetime) else float(time)
        half = fov_deg / 2.0
        cos_dec = max(math.cos(math.radians(dec_deg)), 1e-3)
        found: list[tuple[str, dict]] = []
        for cols in self._columns_at(t, dec_deg - half, dec_deg + half):
            d_ra = ((cols["ra"] - ra_deg + 180.0) % 360.0 - 180.0) * cos_dec
            inside = np.abs(d_ra) <= half
            if not inside.any():
                continue
            mags = _band_mags(cols, filter, t)
            for i in np.flatnonzero(inside & (mags < limiting_mag + 1.0)):
                found.append((_name(cols, i), {"cols": cols, "i": i,
                                                     "mag": float(mags[i])}))
        out = []
        for name, hit in sorted(found, key=lambda pair: pair[0]):
            measured = _measure(hit["mag"], limiting_mag, fwhm_arcsec, rng)
            if measured is None:
                continue
            snr, mag, dx, dy = measured
            cols, i = hit["cols"], hit["i"]
            dec = float(cols["dec"][i]) + dy / 3600.0
            ra = (float(cols["ra"][i]) + dx / 3600.0
                  / max(math.cos(math.radians(dec)), 1e-3)) % 360.0
            out.append({"ra_deg": ra, "dec_deg": dec, "mag": round(mag, 3),
                        "snr": round(snr, 2), "detector": "simulator", "name": name,
                        "kind": str(cols["kind"][i]), "true_mag": round(hit["mag"], 3)})
        return out


def _measure(mag: float, limiting_mag: float, fwhm_arcsec: float,
             rng: np.random.Generator) -> tuple[float, float, float, float] | None:
    """Noisy SNR, magnitude and position offsets (arcsec); None when below SNR 5.

    Always draws three normals, so later detections do not depend on this one's fate.
    """
    flux_noise, dx, dy = (float(x) for x in rng.standard_normal(3))
    signal = _LIMIT_SIGNAL_E * 10.0 ** (0.4 * (limiting_mag - mag))
    measured = signal + flux_noise * math.sqrt(signal + _LIMIT_BACKGROUND_E)
    if measured <= 0:
        return None
    snr = measured / math.sqrt(measured + _LIMIT_BACKGROUND_E)
    if snr < 5.0:
        return None
    sigma = max(0.05, 0.6 * fwhm_arcsec / snr)
    return snr, limiting_mag - 2.5 * math.log10(measured / _LIMIT_SIGNAL_E), sigma * dx, \
        sigma * dy


def _hostless(rng: np.random.Generator, start: float, kind: _Kind, k: int, prefix: str,
              per_deg2_per_day: float, *, peak, rise_days: tuple[float, float],
              rise_mag: float | None, decline_days: tuple[float, float] | None,
              decline_mag: float | None, g_r: tuple[float, float],
              redden: float) -> dict[str, np.ndarray]:
    """Transients uniform on the sphere and in the bin (flares, fast transients)."""
    n = int(rng.poisson(per_deg2_per_day * _SKY_DEG2 * kind.bin_s / DAY_S))
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    onset = start + rng.uniform(0.0, kind.bin_s, n)
    rise_d = rng.uniform(*rise_days, n)
    if rise_mag is None:   # fast transients: rates drawn directly
        rise = rng.uniform(0.5, 1.5, n)
        decline = rng.uniform(0.15, 0.6, n)
    else:
        rise = rise_mag / rise_d
        decline = decline_mag / rng.uniform(*decline_days, n)
    return {"ra": ra, "dec": dec, "t_peak": onset + rise_d * DAY_S, "peak": peak(n),
            "rise_days": rise_d, "rise": rise, "decline": decline,
            "g_r": rng.normal(g_r[0], g_r[1], n), "redden": np.full(n, redden),
            "max_g_r": np.full(n, 1.5),
            "serial": np.arange(n), "bin": np.full(n, k), "prefix": np.full(n, prefix),
            "kind": np.full(n, kind.name), "host": np.full(n, "")}


def _name(cols: dict[str, np.ndarray], i: int) -> str:
    """Name of transient ``i`` (built on demand for the many without a host)."""
    if "name" in cols:
        return str(cols["name"][i])
    return f"{cols['prefix'][i]}-{int(cols['bin'][i])}-{int(cols['serial'][i]):05d}"


def _transient(cols: dict[str, np.ndarray], i: int) -> SkyTransient:
    t_peak = float(cols["t_peak"][i])
    as_dt = datetime.fromtimestamp
    return SkyTransient(
        name=_name(cols, i), kind=str(cols["kind"][i]), host=str(cols["host"][i]),
        ra_deg=float(cols["ra"][i]), dec_deg=float(cols["dec"][i]),
        explosion=as_dt(t_peak - float(cols["rise_days"][i]) * DAY_S, tz=UTC),
        peak_time=as_dt(t_peak, tz=UTC), peak_mag=float(cols["peak"][i]),
        rise_mag_per_day=float(cols["rise"][i]), decline_mag_per_day=float(cols["decline"][i]),
        colour_g_r=float(cols["g_r"][i]), reddening_per_day=float(cols["redden"][i]),
        max_colour_g_r=float(cols["max_g_r"][i]))


def _separation_deg(ra, dec, ra0: float, dec0: float) -> np.ndarray:
    d_ra, d_dec = np.radians(ra - ra0), np.radians(dec - dec0)
    a = (np.sin(d_dec / 2.0) ** 2
         + np.cos(np.radians(dec)) * math.cos(math.radians(dec0)) * np.sin(d_ra / 2.0) ** 2)
    return np.degrees(2.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


@lru_cache(maxsize=4)
def transient_sky(seed: int) -> TransientSky:
    """The shared :class:`TransientSky` of ``seed`` with the default rates (cached)."""
    return TransientSky(seed)
