"""Events about a site's state."""

from __future__ import annotations

from control_center.eventlog.envelope import LogEvent


class SiteConditionsChanged(LogEvent):
    """A site's weather or sky changed enough to matter.

    ``open`` is False when the dome must stay closed (weather limits);
    ``reason`` names the limit, e.g. ``"humidity 0.92 > 0.85"``.
    """

    site: str
    cloud_cover: float
    humidity: float
    wind_m_s: float
    seeing_arcsec: float
    sky_v_mag_arcsec2: float
    open: bool
    reason: str
