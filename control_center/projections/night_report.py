"""The night report, folded from the log alone.

Per site: hours of darkness, hours of darkness lost to weather (closed dome),
observations completed and failed, the fraction of the site's telescope dark
time (dark hours x telescopes) spent on completed observations, slews and
readouts included, and the science value obtained.
"""

from __future__ import annotations

from datetime import datetime

from control_center.events import (
    NightEnded,
    NightStarted,
    ObservationCompleted,
    ObservationFailed,
    SiteConditionsChanged,
)
from control_center.projections.base import Projection


class NightReport(Projection):
    """Per-night, per-site tallies; :meth:`report` turns them into the figures."""

    name = "night-report"
    version = 1
    handles = (NightStarted, NightEnded, SiteConditionsChanged, ObservationCompleted,
               ObservationFailed)

    def __init__(self) -> None:
        self._nights: dict[str, dict] = {}
        self._last: str | None = None

    def apply_event(self, event) -> None:
        night = str(event.correlation_id) if event.correlation_id else None
        if isinstance(event, NightStarted):
            self._last = night = str(event.originator_id)
            self._nights[night] = {
                "start": event.start.isoformat(), "end": event.end.isoformat(),
                "network": event.network_name, "seed": event.seed, "policy": event.policy,
                "ended": None,
                "sites": {name: {"dark": info["dark"], "telescopes": len(info["telescopes"]),
                                 "timeline": [], "completed": 0, "failed": 0, "used_s": 0.0,
                                 "value": 0.0}
                          for name, info in event.sites.items()},
            }
            return
        data = self._nights.get(night)
        if data is None:
            return
        if isinstance(event, SiteConditionsChanged):
            site = data["sites"].get(event.site)
            if site is not None:
                site["timeline"].append([event.sim_time.isoformat(), bool(event.open)])
        elif isinstance(event, ObservationCompleted):
            site = data["sites"][event.site]
            site["completed"] += 1
            site["value"] = round(site["value"] + event.science_value, 6)
            site["used_s"] += _overlap_s(event.started, event.ended, site["dark"])
        elif isinstance(event, ObservationFailed):
            data["sites"][event.site]["failed"] += 1
        elif isinstance(event, NightEnded):
            data["ended"] = event.sim_time.isoformat()

    @property
    def last_night(self) -> str | None:
        return self._last

    def nights(self) -> list[str]:
        return list(self._nights)

    def report(self, night: str | None = None) -> dict:
        """The figures of one night (the last one by default)."""
        night = night or self._last
        if night is None or night not in self._nights:
            raise KeyError("the log holds no night")
        data = self._nights[night]
        end = datetime.fromisoformat(data["end"])
        sites = {}
        for name, site in data["sites"].items():
            dark_s = sum((datetime.fromisoformat(e) - datetime.fromisoformat(b)).total_seconds()
                         for b, e in site["dark"])
            lost_s = _closed_dark_s(site["timeline"], site["dark"], end)
            sites[name] = {
                "dark_hours": round(dark_s / 3600, 3),
                "weather_lost_hours": round(lost_s / 3600, 3),
                "completed": site["completed"],
                "failed": site["failed"],
                "dark_time_used": (round(site["used_s"] / (dark_s * site["telescopes"]), 4)
                                   if dark_s else 0.0),
                "science_value": round(site["value"], 3),
            }
        return {"night": night, "network": data["network"], "start": data["start"],
                "end": data["end"], "seed": data["seed"], "policy": data["policy"],
                "complete": data["ended"] is not None, "sites": sites}

    def to_state(self) -> dict:
        return {"nights": self._nights, "last": self._last}

    def load_state(self, state: dict) -> None:
        self._nights, self._last = state["nights"], state["last"]


def _spans(dark: list) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(b), datetime.fromisoformat(e)) for b, e in dark]


def _overlap_s(start: datetime, end: datetime, dark: list) -> float:
    return sum(max(0.0, (min(end, e) - max(start, b)).total_seconds()) for b, e in _spans(dark))


def _closed_dark_s(timeline: list, dark: list, end: datetime) -> float:
    """Dark seconds during which the site reported itself closed."""
    total = 0.0
    for i, (when, is_open) in enumerate(timeline):
        if is_open:
            continue
        begin = datetime.fromisoformat(when)
        until = datetime.fromisoformat(timeline[i + 1][0]) if i + 1 < len(timeline) else end
        total += _overlap_s(begin, until, dark)
    return total
