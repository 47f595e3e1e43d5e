"""View models: what the console's views show, as immutable rows.

The folds of :mod:`control_center.ui.model` build these from the log in the
follower's thread; the views only read them. Every row is a frozen dataclass
so a snapshot can cross threads without copies or locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AlertRow",
    "ConsoleSnapshot",
    "DecisionRow",
    "NightInfo",
    "RequestRow",
    "SiteView",
    "TailFilter",
    "TailRow",
    "TelescopeView",
    "TrendSeries",
]


@dataclass(frozen=True)
class NightInfo:
    """The night being run (from its ``NightStarted``)."""

    night_id: str
    network_name: str
    start: datetime
    end: datetime
    seed: int
    policy: str
    position: int
    ended: str | None = None
    """Why the night ended (``NightEnded.reason``), None while it runs."""


@dataclass(frozen=True)
class TelescopeView:
    """What one telescope is doing at the log's latest simulated time."""

    name: str
    site: str
    state: str
    """``observing``, ``idle`` or ``unknown`` (nothing recorded yet)."""
    target: str = ""
    filter: str = ""
    request_id: str = ""
    observation_id: str = ""
    expected_start: datetime | None = None
    expected_end: datetime | None = None
    progress: float | None = None
    """Fraction of the expected duration elapsed, 0-1 (None when idle)."""
    remaining_s: float | None = None
    """Seconds to the expected end (negative: overdue)."""
    last_outcome: str = ""
    """The last observation's outcome: ``completed <target>`` or ``failed: <reason>``."""
    last_observation_id: str = ""
    """The last observation that ended (what a rating applies to)."""
    last_rating: str = ""
    """An observer's rating of that observation (``good by ana``), if any."""
    paused_by: str = ""
    """The observer who paused this telescope (or its site), empty when not paused."""
    forced: str = ""
    """A request an observer forced onto this telescope, not yet assigned."""


@dataclass(frozen=True)
class SiteView:
    """One site at the log's latest simulated time."""

    name: str
    label: str
    in_network: bool
    """False for a site the log names but the night's network does not describe."""
    local_time: str = "?"
    timezone: str = ""
    sun_alt_deg: float | None = None
    phase: str = "?"
    """``day``, ``civil twilight``, ``nautical twilight``, ``astronomical twilight``, ``night``."""
    dark: bool | None = None
    """Sun below -12 deg (the network's definition of dark time)."""
    open: bool | None = None
    """Dome may open (weather within limits); None before the first report."""
    weather_reason: str = ""
    cloud_cover: float | None = None
    humidity: float | None = None
    wind_m_s: float | None = None
    seeing_arcsec: float | None = None
    sky_v_mag_arcsec2: float | None = None
    link: str = "unknown"
    """Link health: ``online``, ``degraded``, ``offline`` (``SiteHealthChanged``),
    ``in-process`` (the site reported but no link health was ever recorded: it runs in
    the control center's process) or ``unknown`` (nothing from the site yet)."""
    link_reason: str = ""
    paused_by: str = ""
    """The observer who paused the whole site, empty when not paused."""
    telescopes: tuple[TelescopeView, ...] = ()


@dataclass(frozen=True)
class DecisionRow:
    """One decision of the live feed."""

    position: int
    decision_id: str
    sim_time: datetime
    site: str
    telescope: str
    trigger: str
    outcome: str
    """``assigned``, ``none`` (no assignment) or ``pending`` (outcome not read yet)."""
    choice: str = ""
    """``<target> <filter>`` of the chosen candidate."""
    reason: str = ""
    policy: str = ""
    request_id: str = ""
    """Request of the chosen candidate (what a veto applies to)."""


@dataclass(frozen=True)
class TailRow:
    """One event of the log tail."""

    position: int
    sim_time: datetime | None
    type_name: str
    actor: str
    site: str
    summary: str
    known: bool = True
    """False for an event type this console cannot decode (e.g. from a newer plugin)."""
    observation_id: str = ""
    """The observation the event is about, if any (what a rating applies to)."""


@dataclass(frozen=True)
class TailFilter:
    """Which events the Log view shows: each part is a case-insensitive substring
    (type name), an exact site name, or an actor or actor kind (``site``,
    ``site:la-palma``); empty parts match everything."""

    type_name: str = ""
    site: str = ""
    actor: str = ""

    @property
    def empty(self) -> bool:
        return not (self.type_name or self.site or self.actor)

    def matches(self, row: TailRow) -> bool:
        if self.type_name and self.type_name.lower() not in row.type_name.lower():
            return False
        if self.site and row.site != self.site:
            return False
        return not self.actor or row.actor == self.actor \
            or row.actor.startswith(self.actor + ":")

    def describe(self) -> str:
        parts = [f"{name} {value}" for name, value in
                 (("type", self.type_name), ("site", self.site), ("actor", self.actor)) if value]
        return ", ".join(parts) or "no filter"


@dataclass(frozen=True)
class RequestRow:
    """One request of the night's queue."""

    request_id: str
    program: str
    kind: str
    target: str
    priority: float
    filters: tuple[str, ...]
    done: int
    wanted: int
    failures: int
    state: str
    """``pending``, ``observing`` or ``done``."""
    observing_on: str = ""
    position: int = 0
    vetoed: str = ""
    """``everywhere`` or the telescopes an observer vetoed it on."""
    forced_on: str = ""
    """Telescope an observer forced it onto (until assigned there)."""


@dataclass(frozen=True)
class AlertRow:
    """One alert notice (received, rejected or retracted) and what it caused."""

    key: str
    position: int
    sim_time: datetime
    status: str
    """``received``, ``rejected``, ``retracted`` or ``superseded`` (alert notices);
    ``anomalous`` (a frame the edge pipeline flagged) or ``transient`` (detections)."""
    alert_id: str = ""
    short_id: str = ""
    kind: str = ""
    broker: str = ""
    source: str = ""
    priority: float | None = None
    observable: bool | None = None
    revision: int = 0
    note: str = ""
    """Why it is not observable, why it was rejected, what it retracts."""
    requested: int = 0
    assigned: int = 0
    completed: int = 0
    failed: int = 0
    followups: tuple[str, ...] = ()
    """One line per follow-up observation (newest last, at most a few dozen)."""
    acknowledged_by: str = ""
    site: str = ""
    telescope: str = ""
    score: float | None = None
    """An anomaly's score (``FrameAnalyzed.measures["anomaly_score"]``), None if unscored."""
    observation_id: str = ""
    """The observation an anomaly or a detection was found in."""

    @property
    def is_anomaly(self) -> bool:
        """A frame flagged anomalous or a transient detected, not an alert notice."""
        return self.status in ("anomalous", "transient")


@dataclass(frozen=True)
class TrendSeries:
    """One quantity of one site over the night: hours since the night's start and values."""

    site: str
    quantity: str
    """``seeing``, ``sky`` (V mag/arcsec2) or ``zero_point`` (mag)."""
    hours: tuple[float, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class ConsoleSnapshot:
    """Everything the views show, at one log position.

    ``versions`` maps each section (``network``, ``decisions``, ``tail``,
    ``queue``, ``alerts``, ``trends``) to a counter that changes whenever the
    section does, so a view can skip redrawing an unchanged section.
    """

    log_url: str
    position: int
    sim_time: datetime | None
    night: NightInfo | None
    sites: tuple[SiteView, ...] = ()
    decisions: tuple[DecisionRow, ...] = ()
    tail: tuple[TailRow, ...] = ()
    tail_filter: TailFilter = field(default_factory=TailFilter)
    requests: tuple[RequestRow, ...] = ()
    alerts: tuple[AlertRow, ...] = ()
    trends: tuple[TrendSeries, ...] = ()
    unknown_types: tuple[str, ...] = ()
    """Topics of events this console could not decode, in order first seen."""
    notices: tuple[str, ...] = ()
    """Problems with what the log holds (e.g. a network description that cannot be read)."""
    versions: dict[str, int] = field(default_factory=dict)
    events_folded: int = 0
    sky: Any = None
    """The Sky view's :class:`~control_center.ui.model.sky.SkyPicture` (None unless asked)."""
    feasibility: Any = field(default_factory=dict)
    """Request id -> :class:`~control_center.ui.model.feasibility.Feasibility` (computed
    only while the Queue view is shown)."""
    lightcurves: Any = None
    """The Light curves view's section
    (:class:`~control_center.ui.model.lightcurves_fold.LightCurvesSection`)."""
    replay: Any = None
    """Where a replay stands (:class:`~control_center.ui.model.replay.ReplayStatus`);
    None on a live console."""
