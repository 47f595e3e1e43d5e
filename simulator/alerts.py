"""A simulated alert stream: GRB and neutrino VOEvents, gravitational-wave GCN JSON notices.

Deterministic from the seed (each kind has its own random stream, so changing
one rate leaves the other alerts alone). Payloads are what brokers send:
VOEvent 2.0 XML in the GCN Classic style and IGWN alerts in GCN Kafka JSON with
a base64 HEALPix skymap (flat NESTED, flat RING or multi-order UNIQ, nside 64).
An occasional notice is malformed, as happens in real streams.

The builders (:func:`voevent_xml`, :func:`igwn_notice`, :func:`gw_skymap`,
:func:`skymap_fits`) are public: tests and demos use them to make notices.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from control_center.network import Network
from simulator._seeding import stream
from simulator.horizon import HorizonFrame

__all__ = [
    "RATES_PER_10H",
    "SimulatedAlert",
    "alert_stream",
    "gw_skymap",
    "igwn_notice",
    "skymap_fits",
    "voevent_xml",
]

RATES_PER_10H: Mapping[str, float] = {"grb": 1.5, "gw": 0.8, "neutrino": 0.5, "malformed": 0.3}
"""Mean number of alerts of each kind per 10 hours (Poisson)."""

NEAR_NETWORK_FRACTION = 0.6
"""Share of positions drawn on the night sky of a site of the network (the rest are
isotropic), so a demo night has follow-ups to do and some alerts nobody can see."""


@dataclass(frozen=True)
class SimulatedAlert:
    """One notice of the stream: when it arrives, its bytes and its format.

    ``kind`` is what it simulates (``grb``, ``gw``, ``neutrino`` or ``malformed``);
    ``alert_id`` is the id the notice carries (or would carry, if malformed).
    """

    when: datetime
    payload: bytes
    format: str
    kind: str
    alert_id: str

    @property
    def filename(self) -> str:
        """A file name for dropping it in a watched folder (sorts by arrival)."""
        tail = "".join(c if c.isalnum() else "-" for c in self.alert_id.split("#")[-1])[-40:]
        suffix = "xml" if self.format == "voevent" else "json"
        return f"{self.when:%Y%m%dT%H%M%S}-{self.kind}-{tail}.{suffix}"


def alert_stream(seed: int, start: datetime, end: datetime, network: Network, *,
                 rates: Mapping[str, float] | None = None) -> list[SimulatedAlert]:
    """The alerts that arrive between ``start`` and ``end``, in time order.

    Parameters
    ----------
    seed : int
    start, end : datetime
        UTC-aware span.
    network : Network
        Positions are partly drawn on its sites' night sky.
    rates : mapping, optional
        Mean alerts per 10 hours by kind (default :data:`RATES_PER_10H`).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("alert_stream needs timezone-aware start and end")
    rates = {**RATES_PER_10H, **(rates or {})}
    hours = max(0.0, (end - start).total_seconds() / 3600.0)
    makers = {"grb": _grb, "gw": _gw, "neutrino": _neutrino, "malformed": _malformed}
    alerts: list[SimulatedAlert] = []
    for kind, make in makers.items():
        rng = stream(seed, "alerts", kind)
        count = int(rng.poisson(max(0.0, rates.get(kind, 0.0)) * hours / 10.0))
        offsets = np.sort(rng.uniform(0.0, hours * 3600.0, count))
        for i, offset in enumerate(offsets):
            when = start + timedelta(seconds=round(float(offset), 1))
            alerts.extend(make(rng, when, network, i))
    alerts = [a for a in alerts if a.when < end]
    return sorted(alerts, key=lambda a: (a.when, a.kind, a.alert_id))


# -- positions ---------------------------------------------------------------------------


def _isotropic(rng: np.random.Generator) -> tuple[float, float]:
    return float(rng.uniform(0.0, 360.0)), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))


def _position(rng: np.random.Generator, network: Network, when: datetime) -> tuple[float, float]:
    if rng.random() >= NEAR_NETWORK_FRACTION:
        return _isotropic(rng)
    site = network.sites[int(rng.integers(len(network.sites)))]
    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, when)
    ra, dec = _isotropic(rng)
    for _ in range(200):
        if frame.altaz(ra, dec, when)[0] > 35.0:
            break
        ra, dec = _isotropic(rng)
    return ra, dec


def _offset(rng: np.random.Generator, ra: float, dec: float, radius_deg: float
            ) -> tuple[float, float]:
    """A point within ``radius_deg`` of (ra, dec) (small-angle)."""
    r = radius_deg * math.sqrt(rng.random())
    angle = rng.uniform(0, 2 * math.pi)
    new_dec = float(np.clip(dec + r * math.cos(angle), -89.9, 89.9))
    new_ra = (ra + r * math.sin(angle) / max(0.05, math.cos(math.radians(new_dec)))) % 360.0
    return new_ra, new_dec


# -- VOEvents ----------------------------------------------------------------------------


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4]


def voevent_xml(ivorn: str, *, issued: datetime, event_time: datetime | None = None,
                ra_deg: float | None = None, dec_deg: float | None = None,
                error_deg: float | None = None, role: str = "observation",
                importance: float | None = None, params: Mapping[str, object] | None = None,
                concept: str = "", cites: Sequence[tuple[str, str]] = (),
                coord_system: str = "UTC-FK5-GEO", author: str = "VO-GCN") -> bytes:
    """A VOEvent 2.0 document in the style of GCN Classic notices.

    ``params`` become ``What/Param`` elements; ``cites`` are ``(cite, ivorn)``
    pairs (``"supersedes"``, ``"followup"``, ``"retraction"``); a position is
    written when ``ra_deg`` and ``dec_deg`` are given.
    """
    what = "\n".join(f"    <Param name={quoteattr(str(k))} value={quoteattr(str(v))} />"
                     for k, v in (params or {}).items())
    time_xml = (f"""
          <Time unit="s">
            <TimeInstant>
              <ISOTime>{_iso(event_time)}</ISOTime>
            </TimeInstant>
          </Time>""" if event_time is not None else "")
    position_xml = ""
    if ra_deg is not None and dec_deg is not None:
        error_xml = (f"\n            <Error2Radius>{error_deg:.4f}</Error2Radius>"
                     if error_deg is not None else "")
        position_xml = f"""
          <Position2D unit="deg">
            <Name1>RA</Name1>
            <Name2>Dec</Name2>
            <Value2>
              <C1>{ra_deg:.4f}</C1>
              <C2>{dec_deg:.4f}</C2>
            </Value2>{error_xml}
          </Position2D>"""
    where_when = ""
    if time_xml or position_xml:
        where_when = f"""
  <WhereWhen>
    <ObsDataLocation>
      <ObservatoryLocation id="GEOLUN" />
      <ObservationLocation>
        <AstroCoordSystem id={quoteattr(coord_system)} />
        <AstroCoords coord_system_id={quoteattr(coord_system)}>{time_xml}{position_xml}
        </AstroCoords>
      </ObservationLocation>
    </ObsDataLocation>
  </WhereWhen>"""
    citations = ""
    if cites:
        refs = "\n".join(f"    <EventIVORN cite={quoteattr(c)}>{escape(target)}</EventIVORN>"
                         for c, target in cites)
        citations = f"\n  <Citations>\n{refs}\n  </Citations>"
    why = ""
    if importance is not None or concept:
        attr = f" importance={quoteattr(f'{importance:.2f}')}" if importance is not None else ""
        inference = (f"\n    <Inference probability=\"1.0\">\n      <Concept>{escape(concept)}"
                     f"</Concept>\n    </Inference>" if concept else "")
        why = f"\n  <Why{attr}>{inference}\n  </Why>"
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="http://www.ivoa.net/xml/VOEvent/v2.0 http://www.ivoa.net/xml/VOEvent/VOEvent-v2.0.xsd"
    version="2.0" role={quoteattr(role)} ivorn={quoteattr(ivorn)}>
  <Who>
    <AuthorIVORN>ivo://nasa.gsfc.tan/gcn</AuthorIVORN>
    <Author>
      <shortName>{escape(author)}</shortName>
    </Author>
    <Date>{_iso(issued)}</Date>
  </Who>
  <What>
{what}
  </What>{where_when}{citations}{why}
</voe:VOEvent>
"""
    return text.encode("utf-8")


def _grb(rng: np.random.Generator, when: datetime, network: Network, i: int
         ) -> list[SimulatedAlert]:
    ra, dec = _position(rng, network, when)
    trigger = int(rng.integers(1_000_000, 9_999_999))
    burst = when - timedelta(seconds=float(rng.uniform(20, 90)))
    if rng.random() < 0.7:   # Swift BAT: arcminute error circle
        ivorn = f"ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_{trigger}-{i:03d}"
        payload = voevent_xml(
            ivorn, issued=when, event_time=burst, ra_deg=ra, dec_deg=dec, error_deg=0.05,
            importance=round(float(rng.uniform(0.85, 1.0)), 2),
            params={"Packet_Type": 61, "Pkt_Ser_Num": 1, "TrigID": trigger,
                    "Burst_Inten": int(rng.integers(500, 20000))},
            concept="process.variation.burst;em.gamma")
        out = [SimulatedAlert(when, payload, "voevent", "grb", ivorn)]
        if rng.random() < 0.4:   # XRT refines the position a few minutes later
            later = when + timedelta(minutes=float(rng.uniform(5, 30)))
            xrt = f"ivo://nasa.gsfc.gcn/SWIFT#XRT_Position_{trigger}-{i:03d}"
            xra, xdec = _offset(rng, ra, dec, 0.04)
            payload = voevent_xml(
                xrt, issued=later, event_time=burst, ra_deg=xra, dec_deg=xdec,
                error_deg=0.001, importance=0.95, params={"Packet_Type": 67, "TrigID": trigger},
                concept="process.variation.burst;em.gamma", cites=[("supersedes", ivorn)])
            out.append(SimulatedAlert(later, payload, "voevent", "grb", xrt))
        return out
    ivorn = f"ivo://nasa.gsfc.gcn/Fermi#GBM_Gnd_Pos_{when:%Y-%m-%dT%H:%M:%S}_{trigger}-{i:03d}"
    payload = voevent_xml(
        ivorn, issued=when, event_time=burst, ra_deg=ra, dec_deg=dec,
        error_deg=round(float(rng.uniform(2.0, 8.0)), 2), importance=0.7,
        params={"Packet_Type": 112, "TrigID": trigger},
        concept="process.variation.burst;em.gamma")
    return [SimulatedAlert(when, payload, "voevent", "grb", ivorn)]


def _neutrino(rng: np.random.Generator, when: datetime, network: Network, i: int
              ) -> list[SimulatedAlert]:
    ra, dec = _position(rng, network, when)
    run, event = int(rng.integers(130_000, 140_000)), int(rng.integers(1, 99_999_999))
    ivorn = f"ivo://nasa.gsfc.gcn/AMON#ICECUBE_GOLD_Event{run}_{event}-{i}"
    payload = voevent_xml(
        ivorn, issued=when, event_time=when - timedelta(seconds=30), ra_deg=ra, dec_deg=dec,
        error_deg=round(float(rng.uniform(0.3, 1.0)), 2), importance=0.8,
        params={"Packet_Type": 173, "run_id": run, "event_id": event,
                "signalness": round(float(rng.uniform(0.3, 0.9)), 3)},
        coord_system="UTC-ICRS-GEO", author="IceCube")
    return [SimulatedAlert(when, payload, "voevent", "neutrino", ivorn)]


# -- gravitational waves -------------------------------------------------------------------


def gw_skymap(rng: np.random.Generator, ra_deg: float, dec_deg: float, *, nside: int = 64,
              arc: bool | None = None, scale: float = 1.0) -> np.ndarray:
    """A gravitational-wave-like probability map (NESTED, sums to 1): one Gaussian blob, or
    an arc of blobs along a great circle through (ra, dec).

    ``scale`` multiplies the widths (an update is narrower than a preliminary map).
    """
    from astropy_healpix import healpix_to_lonlat

    lon, lat = healpix_to_lonlat(np.arange(12 * nside * nside), nside, order="nested")
    lon, lat = lon.rad, lat.rad
    arc = bool(rng.random() < 0.5) if arc is None else arc
    centres = [(math.radians(ra_deg), math.radians(dec_deg))]
    sigma = math.radians(float(rng.uniform(2.0, 6.0 if arc else 8.0)) * scale)
    if arc:
        angle = float(rng.uniform(0, 2 * math.pi))
        step = 1.5 * sigma
        for k in (-2, -1, 1, 2):
            centres.append(_along(centres[0], angle, k * step))
    prob = np.zeros(lon.size)
    for (c_ra, c_dec), weight in zip(centres, rng.uniform(0.5, 1.0, len(centres)), strict=True):
        cos_d = (math.sin(c_dec) * np.sin(lat) + math.cos(c_dec) * np.cos(lat)
                 * np.cos(lon - c_ra))
        d = np.arccos(np.clip(cos_d, -1, 1))
        prob += weight * np.exp(-0.5 * (d / sigma) ** 2)
    return prob / prob.sum()


def _along(centre: tuple[float, float], angle: float, distance: float) -> tuple[float, float]:
    """The point ``distance`` (rad) from ``centre`` at position angle ``angle``."""
    ra, dec = centre
    sin_dec = (math.sin(dec) * math.cos(distance)
               + math.cos(dec) * math.sin(distance) * math.cos(angle))
    new_dec = math.asin(max(-1.0, min(1.0, sin_dec)))
    new_ra = ra + math.atan2(math.sin(angle) * math.sin(distance) * math.cos(dec),
                             math.cos(distance) - math.sin(dec) * sin_dec)
    return new_ra % (2 * math.pi), new_dec


def skymap_fits(prob_nested: np.ndarray, ordering: str = "NESTED", *,
                coarsen_below: float = 1e-6) -> bytes:
    """A HEALPix FITS file of a NESTED probability map.

    ``ordering`` is ``"NESTED"`` or ``"RING"`` (a flat ``PROB`` map) or ``"NUNIQ"`` (a
    multi-order ``UNIQ``/``PROBDENSITY`` map whose low-probability regions are
    merged into coarser pixels, like the multi-order maps of LVK alerts).
    """
    from astropy.io import fits
    from astropy_healpix import npix_to_nside
    from astropy_healpix.core import nested_to_ring

    prob = np.asarray(prob_nested, dtype=float)
    nside = int(npix_to_nside(prob.size))
    order = int(math.log2(nside))
    header = [("PIXTYPE", "HEALPIX"), ("COORDSYS", "C"), ("OBJECT", "simulated")]
    if ordering in ("NESTED", "RING"):
        values = prob
        if ordering == "RING":
            values = np.empty_like(prob)
            values[np.asarray(nested_to_ring(np.arange(prob.size), nside))] = prob
        columns = [fits.Column(name="PROB", format="E", unit="pix-1", array=values)]
        header += [("ORDERING", ordering), ("NSIDE", nside), ("INDXSCHM", "IMPLICIT"),
                   ("FIRSTPIX", 0), ("LASTPIX", prob.size - 1)]
    elif ordering == "NUNIQ":
        uniq, density = _multi_order(prob, order, coarsen_below)
        columns = [fits.Column(name="UNIQ", format="K", array=uniq),
                   fits.Column(name="PROBDENSITY", format="D", unit="sr-1", array=density)]
        header += [("ORDERING", "NUNIQ"), ("INDXSCHM", "EXPLICIT"), ("MOCORDER", order)]
    else:
        raise ValueError(f"ordering must be NESTED, RING or NUNIQ, not {ordering!r}")
    table = fits.BinTableHDU.from_columns(columns)
    for key, value in header:
        table.header[key] = value
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(out)
    return out.getvalue()


def _multi_order(prob: np.ndarray, order: int, below: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Merge groups of four NESTED siblings holding less than ``below`` (two levels)."""
    levels = []
    current = prob
    for level in range(order, max(order - 2, 0), -1):
        groups = current.reshape(-1, 4)
        merge = groups.sum(axis=1) < below
        idx = np.flatnonzero(np.repeat(~merge, 4) & ~np.isnan(current))
        levels.append((level, idx, current[idx]))
        current = np.where(merge, groups.sum(axis=1), np.nan)
    remaining = np.flatnonzero(~np.isnan(current))
    levels.append((order - len(levels), remaining, current[remaining]))
    uniq, density = [], []
    for level, idx, values in levels:
        area = 4 * math.pi / (12 * 4 ** level)
        uniq.append(4 * 4 ** level + idx)
        density.append(values / area)
    return np.concatenate(uniq).astype(np.int64), np.concatenate(density)


def igwn_notice(superevent_id: str, *, alert_type: str, time_created: datetime,
                event_time: datetime | None = None, skymap: bytes | None = None,
                significant: bool = True, classification: Mapping[str, float] | None = None,
                far: float = 1e-9) -> bytes:
    """An IGWN alert as published on GCN Kafka (``igwn.gwalert`` schema)."""
    notice: dict = {
        "alert_type": alert_type,
        "time_created": time_created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "superevent_id": superevent_id,
        "urls": {"gracedb": f"https://gracedb.ligo.org/superevents/{superevent_id}/view/"},
        "event": None,
        "external_coinc": None,
    }
    if alert_type != "RETRACTION":
        notice["event"] = {
            "time": (event_time or time_created).astimezone(UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "far": far, "significant": significant, "instruments": ["H1", "L1", "V1"],
            "group": "CBC", "pipeline": "gstlal", "search": "AllSky",
            "properties": {"HasNS": 0.9, "HasRemnant": 0.7, "HasMassGap": 0.01},
            "classification": dict(classification or {"BNS": 0.9, "NSBH": 0.05, "BBH": 0.0,
                                                      "Terrestrial": 0.05}),
            "duration": None, "central_frequency": None,
            "skymap": base64.b64encode(skymap or b"").decode("ascii"),
        }
    return json.dumps(notice, indent=2).encode("utf-8")


def _superevent_id(rng: np.random.Generator, when: datetime) -> str:
    letters = "".join(chr(ord("a") + int(k)) for k in rng.integers(0, 26, 2))
    return f"S{when:%y%m%d}{letters}"


def _gw(rng: np.random.Generator, when: datetime, network: Network, i: int
        ) -> list[SimulatedAlert]:
    ra, dec = _position(rng, network, when)
    superevent = _superevent_id(rng, when)
    ordering = ("NESTED", "RING", "NUNIQ")[int(rng.integers(3))]
    arc = bool(rng.random() < 0.5)
    shape_seed = int(rng.integers(1 << 31))
    terrestrial = round(float(rng.uniform(0.0, 0.2)), 3)
    bns = round(float(rng.uniform(0.3, 1.0 - terrestrial)), 3)
    classification = {"BNS": bns, "NSBH": round(1.0 - terrestrial - bns, 3), "BBH": 0.0,
                       "Terrestrial": terrestrial}
    significant = bool(rng.random() < 0.9)
    merger = when - timedelta(seconds=float(rng.uniform(30, 120)))
    out = []
    versions = [("PRELIMINARY", when, 1.0)]
    if rng.random() < 0.5:
        versions.append(("UPDATE", when + timedelta(minutes=float(rng.uniform(30, 90))), 0.6))
    for alert_type, issued, scale in versions:
        prob = gw_skymap(np.random.default_rng(shape_seed), ra, dec, arc=arc, scale=scale)
        payload = igwn_notice(superevent, alert_type=alert_type, time_created=issued,
                              event_time=merger, skymap=skymap_fits(prob, ordering),
                              significant=significant, classification=classification)
        out.append(SimulatedAlert(issued, payload, "gcn-json", "gw", superevent))
    return out


# -- malformed notices ---------------------------------------------------------------------


def _malformed(rng: np.random.Generator, when: datetime, network: Network, i: int
               ) -> list[SimulatedAlert]:
    ra, dec = _isotropic(rng)
    trigger = int(rng.integers(1_000_000, 9_999_999))
    ivorn = f"ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_{trigger}-{900 + i}"
    good = voevent_xml(ivorn, issued=when, event_time=when, ra_deg=ra, dec_deg=dec,
                       error_deg=0.05, importance=0.9, params={"Packet_Type": 61})
    choice = int(rng.integers(4))
    if choice == 0:     # cut off in transit
        return [SimulatedAlert(when, good[: len(good) // 2], "voevent", "malformed", ivorn)]
    if choice == 1:     # right ascension out of range
        bad = voevent_xml(ivorn, issued=when, event_time=when, ra_deg=ra + 400.0,
                          dec_deg=dec, error_deg=0.05, params={"Packet_Type": 61})
        return [SimulatedAlert(when, bad, "voevent", "malformed", ivorn)]
    if choice == 2:     # JSON point notice without a declination
        alert_id = f"EP-WXT-{trigger}"
        bad = json.dumps({"instrument": "WXT", "id": [str(trigger)], "ra": ra,
                          "ra_dec_error": 0.05, "trigger_time": when.strftime(
                              "%Y-%m-%dT%H:%M:%SZ")}).encode()
        return [SimulatedAlert(when, bad, "gcn-json", "malformed", alert_id)]
    superevent = _superevent_id(rng, when)   # GW notice whose skymap is not FITS
    bad = igwn_notice(superevent, alert_type="PRELIMINARY", time_created=when,
                      skymap=b"not a FITS file")
    return [SimulatedAlert(when, bad, "gcn-json", "malformed", superevent)]
