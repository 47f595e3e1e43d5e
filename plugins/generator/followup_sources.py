"""Known transient sources: each detection is matched by position to the sources seen before.

A detection within ``match_radius_arcsec`` of a known source is a re-detection
of it (and tells where, when and in which filter it was seen again); anything
else is a new source, named after the observation that found it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Source", "SourceBook"]


@dataclass
class Source:
    """A transient seen at least once.

    Attributes
    ----------
    name : str
        ``OT-<first 8 characters of the observation id>-<n>``.
    observation_id : str
        The observation that found it first; ``n`` is its index among that
        observation's detections.
    site, telescope, filter : str
        Where and how it was found.
    first_seen : datetime
    mag, snr : float
        At the first detection.
    sightings : list of (datetime, site, filter, mag)
        Every detection, the first included.
    """

    name: str
    ra_deg: float
    dec_deg: float
    observation_id: str
    n: int
    site: str
    telescope: str
    filter: str
    first_seen: datetime
    mag: float
    snr: float
    sightings: list[tuple[datetime, str, str, float]] = field(default_factory=list)

    @property
    def sites(self) -> set[str]:
        """Sites that detected it."""
        return {s for _, s, _, _ in self.sightings}


class SourceBook:
    """The sources seen so far, matched by position.

    Parameters
    ----------
    match_radius_arcsec : float
        Detections closer than this to a known source are that source.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> book = SourceBook(5.0)
    >>> t = datetime(2026, 3, 22, 1, tzinfo=UTC)
    >>> src, new = book.sighting(150.0, 2.0, "obs-1", 0, "hanle", "hanle-0.7m", "r", t, 18.2, 12.0)
    >>> new, src.name
    (True, 'OT-obs-1-0')
    >>> book.sighting(150.0003, 2.0, "obs-2", 0, "la-palma", "palma-1m", "g", t, 18.0, 9.0)[1]
    False
    """

    def __init__(self, match_radius_arcsec: float = 5.0) -> None:
        if not match_radius_arcsec > 0:
            raise ValueError(f"match_radius_arcsec must be positive, got {match_radius_arcsec}")
        self.radius_deg = match_radius_arcsec / 3600.0
        self.sources: list[Source] = []

    def __len__(self) -> int:
        return len(self.sources)

    def match(self, ra_deg: float, dec_deg: float) -> Source | None:
        """The nearest known source within the match radius, or None."""
        best, best_sep = None, self.radius_deg
        cos_dec = math.cos(math.radians(dec_deg))
        for source in self.sources:
            d_dec = abs(source.dec_deg - dec_deg)
            if d_dec > best_sep:
                continue
            d_ra = abs((source.ra_deg - ra_deg + 180.0) % 360.0 - 180.0) * cos_dec
            sep = math.hypot(d_ra, d_dec)
            if sep <= best_sep:
                best, best_sep = source, sep
        return best

    def sighting(self, ra_deg: float, dec_deg: float, observation_id: str, n: int, site: str,
                 telescope: str, filter: str, when: datetime, mag: float, snr: float,
                 ) -> tuple[Source, bool]:
        """Record a detection; returns its source and whether the source is new."""
        source = self.match(ra_deg, dec_deg)
        new = source is None
        if source is None:
            source = Source(f"OT-{observation_id[:8]}-{n}", ra_deg, dec_deg, observation_id, n,
                            site, telescope, filter, when, mag, snr)
            self.sources.append(source)
        source.sightings.append((when, site, filter, mag))
        return source, new
