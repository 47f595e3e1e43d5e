"""The figures of one night under one policy, folded from its log alone.

``science_value``
    Sum of the science value of the completed observations (what the
    simulator's outcome model gave each: priority x quality).
``dark_time_used``
    Seconds of telescope time inside the sites' dark intervals spent on completed
    observations (slews and readouts included), over the telescopes' dark
    seconds (as in the night report, network-wide).
``alerts`` / ``alerts_followed``
    Alerts to follow up (``AlertReceived`` with role "observation" that some site
    can see), and those with at least one completed observation of theirs.
``alert_latency_min``
    For each followed alert, minutes from its first receipt to the start of its
    first completed observation (telescope starting to move); the list is kept,
    the table shows the median.
``fairness``
    Jain's index over the programmes of the programme book,
    ``J = (sum x)^2 / (n sum x^2)`` with ``x_p`` the fraction of programme
    ``p``'s requested exposure time (exposure x repeats x filters of its
    requests) that completed observations delivered. 1 when every programme got
    the same fraction of what it asked for; ``1/n`` when one programme got
    everything. Alert follow-ups and generator work (survey fields,
    calibrations...) have no allocation and are left out.
``fingerprint``
    SHA-256 of what the world brought to the night (reported site conditions,
    alerts, the programme book): equal across policies when they faced the
    same night.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from control_center.events import (
    AlertReceived,
    AlertRejected,
    AlertRetracted,
    NightStarted,
    ObservationCompleted,
    ObservationRequested,
    SiteConditionsChanged,
)

__all__ = ["NightFigures", "fold_night", "jain_index"]


@dataclass
class NightFigures:
    """What one policy achieved in one night (see the module docstring)."""

    science_value: float = 0.0
    completed: int = 0
    dark_time_used: float = 0.0
    alerts: int = 0
    alerts_followed: int = 0
    alert_latency_min: list[float] = field(default_factory=list)
    fairness: float = 0.0
    programme_share: dict[str, float] = field(default_factory=dict)
    """Fraction of each programme's requested exposure time delivered."""
    completions: Counter = field(default_factory=Counter)
    """Completed observations per candidate key (``request_id/filter``)."""
    fingerprint: str = ""

    @property
    def median_latency_min(self) -> float | None:
        return statistics.median(self.alert_latency_min) if self.alert_latency_min else None


def jain_index(x) -> float:
    """Jain's fairness index of non-negative allocations (0 when all are zero).

    Examples
    --------
    >>> jain_index([1.0, 1.0, 1.0])
    1.0
    >>> jain_index([1.0, 0.0, 0.0, 0.0])
    0.25
    """
    x = [float(v) for v in x]
    squares = sum(v * v for v in x)
    return (sum(x) ** 2) / (len(x) * squares) if squares > 0 else 0.0


def fold_night(log) -> NightFigures:
    """Figures of the (single) night recorded in ``log``."""
    figures = NightFigures()
    world = hashlib.sha256()
    dark: dict[str, list[tuple[datetime, datetime]]] = {}
    telescopes: dict[str, int] = {}
    requested: Counter = Counter()
    programme_of: dict[str, str] = {}
    exposure_of: dict[str, float] = {}
    alert_received: dict[str, tuple[datetime, str]] = {}   # alert_id -> (first receipt, short)
    first_obs: dict[str, datetime] = {}                    # request_id -> first start
    delivered: Counter = Counter()
    used_s = 0.0
    types = [NightStarted, ObservationRequested, SiteConditionsChanged, AlertReceived,
             AlertRejected, AlertRetracted, ObservationCompleted]
    for recorded in log.read(types=types):
        e = recorded.event
        if isinstance(e, NightStarted):
            for name, info in e.sites.items():
                dark[name] = [(datetime.fromisoformat(b), datetime.fromisoformat(x))
                              for b, x in info["dark"]]
                telescopes[name] = len(info["telescopes"])
        elif isinstance(e, ObservationRequested):
            _feed(world, "request", e.request_id, e.program, e.ra_deg, e.dec_deg,
                  list(e.filters), e.exposure_s, e.priority, e.repeats)
            programme_of[e.request_id] = e.program
            exposure_of[e.request_id] = e.exposure_s
            requested[e.program] += e.exposure_s * e.repeats * len(e.filters)
        elif isinstance(e, SiteConditionsChanged):
            _feed(world, "conditions", e.sim_time, e.site, e.cloud_cover, e.humidity,
                  e.wind_m_s, e.seeing_arcsec, e.sky_v_mag_arcsec2, e.open)
        elif isinstance(e, AlertReceived | AlertRejected | AlertRetracted):
            _feed(world, "alert", e.sim_time, e.digest)
            if (isinstance(e, AlertReceived) and e.role == "observation" and e.observable
                    and e.alert_id not in alert_received):
                alert_received[e.alert_id] = (e.sim_time, e.short_id)
        elif isinstance(e, ObservationCompleted):
            figures.science_value += e.science_value
            figures.completed += 1
            figures.completions[f"{e.request_id}/{e.filter}"] += 1
            used_s += sum(max(0.0, (min(e.ended, b) - max(e.started, a)).total_seconds())
                          for a, b in dark.get(e.site, ()))
            if e.request_id not in first_obs or e.started < first_obs[e.request_id]:
                first_obs[e.request_id] = e.started
            if e.request_id in programme_of:
                delivered[programme_of[e.request_id]] += exposure_of[e.request_id]
    dark_s = sum((b - a).total_seconds() * telescopes[name]
                 for name, spans in dark.items() for a, b in spans)
    figures.science_value = round(figures.science_value, 4)
    figures.dark_time_used = used_s / dark_s if dark_s else 0.0
    figures.alerts = len(alert_received)
    for received, short_id in alert_received.values():
        starts = [t for request_id, t in first_obs.items()
                  if request_id == f"alert:{short_id}"
                  or request_id.startswith(f"alert:{short_id}:")]
        if starts:
            figures.alerts_followed += 1
            figures.alert_latency_min.append(
                max(0.0, (min(starts) - received).total_seconds() / 60.0))
    figures.programme_share = {p: delivered[p] / requested[p]
                               for p in sorted(requested) if requested[p] > 0}
    figures.fairness = jain_index(figures.programme_share.values())
    figures.fingerprint = world.hexdigest()
    return figures


def _feed(digest, *values) -> None:
    digest.update(json.dumps(values, default=str, separators=(",", ":")).encode())
    digest.update(b"\n")
