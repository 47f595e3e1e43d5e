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


class SiteHealthChanged(LogEvent):
    """The control center's link to a site node changed state.

    ``state`` and ``previous`` are ``online``, ``degraded`` or ``offline``;
    ``reason`` says why (``"3 failures in a row; last: UNAVAILABLE: ..."``).
    ``address`` is the node's ``HOST:PORT``.
    """

    site: str
    state: str
    previous: str
    reason: str
    address: str


class ObservationCommandSent(LogEvent):
    """An observation command reached a site node's queue.

    ``duplicate`` is True when the node already knew the observation id (a
    resend after a reconnect): nothing new was queued.
    """

    observation_id: str
    site: str
    telescope: str
    queue_position: int
    duplicate: bool


class FrameAnalyzed(LogEvent):
    """A site node's edge pipeline measured an observation's frame.

    ``seq`` is the node's outbox sequence of the result. ``measures`` holds the
    summary: ``sky_level``, ``sky_noise``, ``n_sources``, ``fwhm_arcsec``,
    ``ellipticity``, ``zero_point``, ``anomaly_score`` (None when not measured),
    ``verdict``, ``n_transients``; ``error`` is empty unless the pipeline failed.
    """

    observation_id: str
    site: str
    telescope: str
    seq: int
    pipeline: str
    measures: dict
    error: str
