"""The Trends view's fold: seeing, sky brightness and zero point per site over the night.

Series stay bounded: past :data:`MAX_POINTS` a series keeps every other point
(an 8-hour night or a week of them costs the same memory).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from control_center.events import FrameAnalyzed, NightStarted, SiteConditionsChanged
from control_center.ui.model.views import TrendSeries

__all__ = ["MAX_POINTS", "TrendsFold"]

MAX_POINTS = 2000
"""Points kept per series."""


class TrendsFold:
    """Per site: seeing and sky brightness (``SiteConditionsChanged``) and the zero
    point measured on frames (``FrameAnalyzed`` measures)."""

    handles = (NightStarted, SiteConditionsChanged, FrameAnalyzed)

    def __init__(self) -> None:
        self.version = 0
        self._origin: datetime | None = None
        self._series: dict[tuple[str, str], tuple[list[float], list[float]]] = {}

    def apply(self, event: Any, position: int) -> None:
        if isinstance(event, NightStarted):
            self._origin = event.start
            self._series.clear()
            self.version += 1
            return
        if self._origin is None:
            self._origin = event.sim_time
        hours = (event.sim_time - self._origin).total_seconds() / 3600.0
        if isinstance(event, SiteConditionsChanged):
            self._add(event.site, "seeing", hours, event.seeing_arcsec)
            self._add(event.site, "sky", hours, event.sky_v_mag_arcsec2)
        else:
            zero_point = (event.measures or {}).get("zero_point")
            if isinstance(zero_point, int | float) and not event.error:
                self._add(event.site, "zero_point", hours, float(zero_point))

    def _add(self, site: str, quantity: str, hours: float, value: float) -> None:
        xs, ys = self._series.setdefault((site, quantity), ([], []))
        xs.append(hours)
        ys.append(float(value))
        if len(xs) > MAX_POINTS:
            del xs[1::2], ys[1::2]
        self.version += 1

    def series(self) -> tuple[TrendSeries, ...]:
        return tuple(TrendSeries(site, quantity, tuple(xs), tuple(ys))
                     for (site, quantity), (xs, ys) in sorted(self._series.items()))
