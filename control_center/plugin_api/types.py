"""What plugins receive and return: the public data types of the decision loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from uuid import UUID

from control_center.network import Network, Site, Telescope

__all__ = [
    "Candidate",
    "Choice",
    "Conditions",
    "DecisionContext",
    "NightPlan",
    "QueuedRequest",
    "Rejection",
    "Score",
    "Settings",
    "TelescopeState",
]

CANDIDATE_KINDS = ("science", "survey", "followup", "calibration", "opportunistic")


@dataclass(frozen=True)
class Settings:
    """Run settings every plugin sees (``openastro_configure``)."""

    policy: str = "greedy"
    scorer: str = "value-formula"
    seed: int = 0
    plugin_time_budget_s: float = 2.0


@dataclass(frozen=True)
class Conditions:
    """A site's conditions as last reported."""

    cloud_cover: float
    humidity: float
    wind_m_s: float
    seeing_arcsec: float
    sky_v_mag_arcsec2: float
    open: bool
    reason: str = ""


@dataclass(frozen=True)
class TelescopeState:
    """A telescope as the decision sees it."""

    site: Site
    telescope: Telescope
    pointing_ra_deg: float | None
    pointing_dec_deg: float | None
    filter: str | None
    busy_with: str | None = None
    """Request id the telescope is executing now, or None when idle."""
    busy_until: datetime | None = None
    """Expected end of that observation."""


@dataclass(frozen=True)
class QueuedRequest:
    """A pending observation request (projection of ``ObservationRequested``)."""

    request_id: str
    program: str
    kind: str
    target: str
    ra_deg: float
    dec_deg: float
    filters: tuple[str, ...]
    exposure_s: float
    priority: float
    repeats: int
    completed_by_filter: Mapping[str, int] = field(default_factory=dict)
    v_mag: float | None = None
    failures: int = 0
    """Observations of this request that failed (clouds, low signal, faults)."""
    not_before: datetime | None = None
    not_after: datetime | None = None
    """Time window: the observation must start at or after ``not_before`` and end by
    ``not_after`` (None: unbounded)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_wanted",
                           tuple(f for f in self.filters if self.remaining(f) > 0))

    def remaining(self, filter_name: str) -> int:
        """Exposures still wanted in ``filter_name``."""
        if filter_name not in self.filters:
            return 0
        return max(0, self.repeats - self.completed_by_filter.get(filter_name, 0))

    @property
    def wanted_filters(self) -> tuple[str, ...]:
        """Filters that still want exposures, in the request's order."""
        return self._wanted

    @property
    def done(self) -> bool:
        return not self._wanted


@dataclass(frozen=True)
class Candidate:
    """One option for a telescope: observe ``target`` in ``filter`` for ``exposure_s``.

    ``key`` identifies the candidate inside a decision.
    """

    request_id: str
    target: str
    ra_deg: float
    dec_deg: float
    filter: str
    exposure_s: float
    program: str
    kind: str
    priority: float
    proposed_by: str = ""
    not_before: datetime | None = None
    not_after: datetime | None = None
    """Time window of the observation (see :class:`QueuedRequest`)."""
    v_mag: float | None = None
    """Expected V magnitude of the target (the depth sought, for a survey field), if known."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", f"{self.request_id}/{self.filter}")

    @property
    def key(self) -> str:
        return self._key

    def to_dict(self) -> dict:
        """Plain fields (times as ISO strings) plus the ``key``."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["key"] = self.key
        for name in ("not_before", "not_after"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        return out


@dataclass(frozen=True)
class Rejection:
    """A constraint ruled a candidate out; ``value`` is what broke ``limit``."""

    candidate: str
    constraint: str
    value: float | str
    limit: float | str


@dataclass(frozen=True)
class Score:
    """Expected science value of a candidate, with its 1-sigma uncertainty."""

    candidate: str
    value: float
    sigma: float = 0.0


@dataclass(frozen=True)
class Choice:
    """The policy's pick (a candidate key) and a one-line reason."""

    candidate: str
    reason: str


@dataclass(frozen=True)
class NightPlan:
    """The span of a run and each site's dark intervals within it."""

    start: datetime
    end: datetime
    network: Network
    dark: Mapping[str, tuple[tuple[datetime, datetime], ...]]


@dataclass(frozen=True)
class DecisionContext:
    """Everything a decision may look at; plugins read it, never change it."""

    decision_id: UUID
    trigger: str
    now: datetime
    night: NightPlan
    telescope: TelescopeState
    conditions: Conditions
    conditions_by_site: Mapping[str, Conditions]
    queue: Sequence[QueuedRequest]
    busy_targets: Mapping[str, str]
    """Telescope name -> request id it is executing now (exclusive resources)."""
    settings: Settings
    seed: int
    """Seed of this decision's random numbers (recorded in the log)."""
    telescopes: Mapping[str, TelescopeState] = field(default_factory=dict)
    """Every telescope of the network by name, with what it is doing now."""
    offline_sites: frozenset[str] = frozenset()
    """Sites whose link is down: nothing can be sent to them now."""
    extras: Mapping[str, object] = field(default_factory=dict)
