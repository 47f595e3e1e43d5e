"""What the alert responder remembers about one alert: its fields and what was observed."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["ActiveAlert", "separation_deg"]

_DEFAULT_SIDE_DEG = 0.25


def separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Angular distance (deg) between two positions."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    cos_d = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos_d))))


@dataclass
class ActiveAlert:
    """One alert as the responder follows it (built from an ``AlertReceived``).

    ``observed`` are the positions of completed observations (carried over to
    later revisions and to alerts that supersede this one); ``done`` counts
    completed exposures per filter (point alerts); ``tiles_done`` holds the
    indices of observed tiles; ``failures`` counts failed observations per
    filter (point alerts) or tile centre ``(ra, dec)``; ``ended`` says why the alert is no longer followed ("" while
    it is).
    """

    alert_id: str
    short_id: str
    kind: str
    role: str
    revision: int
    priority: float
    issued: datetime
    expires: datetime
    ra_deg: float | None
    dec_deg: float | None
    tiles: list[tuple[float, float, float]]
    tile_side_deg: float
    observable: bool
    observed: list[tuple[float, float]] = field(default_factory=list)
    done: Counter = field(default_factory=Counter)
    tiles_done: set[int] = field(default_factory=set)
    failures: Counter = field(default_factory=Counter)
    ended: str = ""

    @classmethod
    def from_event(cls, event, ttl: timedelta) -> ActiveAlert:
        tiles = [(float(t[0]), float(t[1]), float(t[2])) for t in (event.tiles or [])]
        return cls(
            alert_id=event.alert_id, short_id=event.short_id, kind=event.kind, role=event.role,
            revision=int(event.revision), priority=float(event.priority), issued=event.issued,
            expires=event.issued + ttl, ra_deg=event.ra_deg, dec_deg=event.dec_deg,
            tiles=tiles, tile_side_deg=float(event.tile_side_deg or _DEFAULT_SIDE_DEG),
            observable=bool(event.observable),
        )

    @property
    def is_point(self) -> bool:
        return not self.tiles

    def request_id(self, tile: int | None = None) -> str:
        """Request id of the alert's candidates (point) or of one of its tiles."""
        base = f"alert:{self.short_id}"
        return base if tile is None else f"{base}:r{self.revision}:t{tile}"

    def inherit(self, earlier: ActiveAlert) -> None:
        """Take over what was observed for an earlier revision or a superseded alert."""
        self.observed.extend(earlier.observed)
        if self.is_point and earlier.is_point and self.near(earlier.ra_deg, earlier.dec_deg):
            self.done.update(earlier.done)
            self.failures.update(earlier.failures)
        for ra, dec in self.observed:
            self.mark_position(ra, dec)

    def mark_position(self, ra: float, dec: float) -> None:
        """Count the tiles whose centre an observation at (ra, dec) covered as done."""
        for k, (t_ra, t_dec, _) in enumerate(self.tiles):
            if separation_deg(ra, dec, t_ra, t_dec) < self.tile_side_deg / 2.0:
                self.tiles_done.add(k)

    def near(self, ra: float | None, dec: float | None) -> bool:
        """True when (ra, dec) is within half a field of this alert's position."""
        if None in (ra, dec, self.ra_deg, self.dec_deg):
            return False
        return separation_deg(ra, dec, self.ra_deg, self.dec_deg) < self.tile_side_deg / 2.0

    def remaining_tiles(self, max_failures: int) -> list[int]:
        """Indices of the tiles neither observed nor given up after failures."""
        return [k for k, (ra, dec, _) in enumerate(self.tiles)
                if k not in self.tiles_done and self.failures[(ra, dec)] < max_failures]

    def remaining_filters(self, wanted: tuple[str, ...], repeats: int,
                          max_failures: int) -> list[str]:
        """Wanted filters still short of ``repeats`` exposures and not given up."""
        return [f for f in wanted if self.done[f] < repeats and self.failures[f] < max_failures]
