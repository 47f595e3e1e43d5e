"""The Network view's fold: sites, their weather and link, and what each telescope does.

The network itself comes from the night's ``NightStarted`` (the whole
description is recorded there, :func:`control_center.network.network_from_dict`),
so an observer attached to a running control center needs nothing but its log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from control_center.events import (
    NightEnded,
    NightStarted,
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    SiteConditionsChanged,
    SiteHealthChanged,
)
from control_center.events.override import (
    ObservationRated,
    TargetForced,
    TelescopePaused,
    TelescopeResumed,
)
from control_center.ui.model.sun import SunTrack, darkness_phase, local_time, sun_track
from control_center.ui.model.views import NightInfo, SiteView, TelescopeView

__all__ = ["IN_PROCESS", "NetworkFold"]

IN_PROCESS = "in-process"
"""The link of a site that reports without ever a ``SiteHealthChanged``: a site node's
link records one as soon as it connects (or fails to), an in-process simulated site
has no link to report on."""


@dataclass
class _Scope:
    name: str
    site: str
    current: ObservationAssigned | None = None
    last_outcome: str = ""
    last_observation_id: str = ""
    last_rating: str = ""
    paused_by: str = ""
    forced: str = ""


@dataclass
class _Site:
    name: str
    label: str
    in_network: bool
    timezone: str = ""
    location: Any = None
    conditions: SiteConditionsChanged | None = None
    link: str = "unknown"
    link_reason: str = ""
    paused_by: str = ""
    telescopes: list[str] = field(default_factory=list)


class NetworkFold:
    """Folds the events of the Network view; :meth:`view` gives the rows at a time.

    Attributes
    ----------
    night : NightInfo or None
        The current night (the last ``NightStarted`` folded).
    notices : list of str
        Problems with what the log holds, for the console to show.
    version : int
        Changes whenever anything folded here changes.
    """

    handles = (NightStarted, NightEnded, SiteConditionsChanged, SiteHealthChanged,
               ObservationAssigned, ObservationCompleted, ObservationFailed, TelescopePaused,
               TelescopeResumed, TargetForced, ObservationRated)

    def __init__(self) -> None:
        self.night: NightInfo | None = None
        self.notices: list[str] = []
        self.version = 0
        self._sites: dict[str, _Site] = {}
        self._scopes: dict[str, _Scope] = {}
        self._sun: dict[str, SunTrack | None] = {}
        self.network: Any = None
        """The night's :class:`~control_center.network.Network` (None if not recorded)."""

    # -- folding ---------------------------------------------------------------------

    def apply(self, event: Any, position: int) -> None:
        """Fold one decoded event recorded at ``position``."""
        self.version += 1
        if isinstance(event, NightStarted):
            self._start_night(event, position)
        elif isinstance(event, NightEnded):
            if self.night is not None and event.correlation_id is not None \
                    and str(event.correlation_id) == self.night.night_id:
                self.night = _replace(self.night, ended=event.reason)
        elif isinstance(event, SiteConditionsChanged):
            self._site(event.site).conditions = event
        elif isinstance(event, SiteHealthChanged):
            site = self._site(event.site)
            site.link, site.link_reason = event.state, event.reason
        elif isinstance(event, ObservationAssigned):
            scope = self._scope(event.telescope, event.site)
            scope.current = event
            if scope.forced == event.request_id:
                scope.forced = ""
        elif isinstance(event, ObservationCompleted | ObservationFailed):
            scope = self._scope(event.telescope, event.site)
            target = ""
            if scope.current is not None and scope.current.observation_id == event.observation_id:
                target = scope.current.target
                scope.current = None
            if isinstance(event, ObservationCompleted):
                scope.last_outcome = f"completed {target or event.request_id} {event.filter}"
            else:
                scope.last_outcome = f"failed: {event.reason}"
            scope.last_observation_id, scope.last_rating = event.observation_id, ""
        elif isinstance(event, TelescopePaused | TelescopeResumed):
            self._pause(event)
        elif isinstance(event, TargetForced):
            scope = self._scopes.get(event.telescope)
            if scope is not None:
                scope.forced = event.request_id
        elif isinstance(event, ObservationRated):
            for scope in self._scopes.values():
                if scope.last_observation_id == event.observation_id:
                    scope.last_rating = f"{event.rating} by {event.observer}"

    def _pause(self, event: TelescopePaused | TelescopeResumed) -> None:
        by = event.observer if isinstance(event, TelescopePaused) else ""
        if event.telescope:
            scope = self._scopes.get(event.telescope)
            if scope is not None:
                scope.paused_by = by
            return
        site = self._site(event.site)
        site.paused_by = by
        if not by:   # resuming a site resumes its telescopes
            for name in site.telescopes:
                if name in self._scopes:
                    self._scopes[name].paused_by = ""

    def _start_night(self, event: NightStarted, position: int) -> None:
        from control_center.network import NetworkFileError, network_from_dict

        self._sites.clear()
        self._scopes.clear()
        self._sun.clear()
        self.notices = [n for n in self.notices if not n.startswith("night ")]
        self.night = NightInfo(night_id=str(event.originator_id), network_name=event.network_name,
                               start=event.start, end=event.end, seed=event.seed,
                               policy=event.policy, position=position)
        network = self.network = None
        if event.network:
            try:
                network = network_from_dict(event.network, source=event.network_source)
            except (NetworkFileError, TypeError, KeyError) as exc:
                self.notices.append(f"night #{position}: the recorded network cannot be read "
                                    f"({exc}); sites are shown without local time or Sun")
        self.network = network
        if network is not None:
            for site in network.sites:
                self._sites[site.name] = _Site(site.name, site.label, True, site.timezone,
                                               site.location,
                                               telescopes=[t.name for t in site.telescopes])
                for t in site.telescopes:
                    self._scopes[t.name] = _Scope(t.name, site.name)
        for name, info in (event.sites or {}).items():
            site = self._sites.get(name)
            if site is None:
                site = self._sites[name] = _Site(name, name, True)
            for scope in (info or {}).get("telescopes", []):
                if scope not in self._scopes:
                    self._scopes[scope] = _Scope(scope, name)
                    site.telescopes.append(scope)

    def _site(self, name: str) -> _Site:
        site = self._sites.get(name)
        if site is None:   # named by the log but not described by the night's network
            site = self._sites[name] = _Site(name, name, self.night is None)
        return site

    def _scope(self, name: str, site_name: str) -> _Scope:
        scope = self._scopes.get(name)
        if scope is None:
            scope = self._scopes[name] = _Scope(name, site_name)
            self._site(site_name).telescopes.append(name)
        return scope

    def site_description(self, name: str) -> Any:
        """The night network's :class:`~control_center.network.Site` named ``name``, or None."""
        if self.network is None:
            return None
        return next((s for s in self.network.sites if s.name == name), None)

    def site_states(self) -> dict[str, tuple[bool | None, str, str]]:
        """Site -> (dome open, None if never reported; weather reason; link state)."""
        return {name: (None if s.conditions is None else bool(s.conditions.open),
                       s.conditions.reason if s.conditions is not None else "", s.link)
                for name, s in self._sites.items()}

    def pointings(self, site: str) -> list[tuple[str, str, float, float]]:
        """``(telescope, target, ra, dec)`` of the observations under way at ``site``."""
        return [(s.name, s.current.target, s.current.ra_deg, s.current.dec_deg)
                for s in self._scopes.values() if s.site == site and s.current is not None]

    # -- viewing ---------------------------------------------------------------------

    def view(self, now: datetime | None) -> tuple[SiteView, ...]:
        """Every site, as seen at simulated time ``now`` (the log's latest)."""
        return tuple(self._site_view(site, now) for site in self._sites.values())

    def _site_view(self, site: _Site, now: datetime | None) -> SiteView:
        c = site.conditions
        sun = self._sun_altitude(site, now)
        return SiteView(
            name=site.name, label=site.label, in_network=site.in_network,
            local_time=local_time(now, site.timezone) if now and site.timezone else "?",
            timezone=site.timezone, sun_alt_deg=sun,
            phase=darkness_phase(sun) if sun is not None else "?",
            dark=None if sun is None else sun < -12.0,
            open=None if c is None else bool(c.open), weather_reason=c.reason if c else "",
            cloud_cover=c.cloud_cover if c else None, humidity=c.humidity if c else None,
            wind_m_s=c.wind_m_s if c else None, seeing_arcsec=c.seeing_arcsec if c else None,
            sky_v_mag_arcsec2=c.sky_v_mag_arcsec2 if c else None,
            link=IN_PROCESS if site.link == "unknown" and c is not None else site.link,
            link_reason=site.link_reason, paused_by=site.paused_by,
            telescopes=tuple(self._scope_view(self._scopes[t], now, site.paused_by)
                             for t in site.telescopes if t in self._scopes),
        )

    def _sun_altitude(self, site: _Site, now: datetime | None) -> float | None:
        if now is None or site.location is None or self.night is None:
            return None
        if site.name not in self._sun:
            try:
                self._sun[site.name] = sun_track(site.location, self.night.start, self.night.end)
            except Exception as exc:  # noqa: BLE001 - astropy failing must not take the view down
                self._sun[site.name] = None
                self.notices.append(f"night: the Sun at {site.name} cannot be computed ({exc})")
        track = self._sun[site.name]
        return None if track is None else track.altitude(now)

    @staticmethod
    def _scope_view(scope: _Scope, now: datetime | None, site_paused_by: str) -> TelescopeView:
        a = scope.current
        common = {"last_outcome": scope.last_outcome,
                  "last_observation_id": scope.last_observation_id,
                  "last_rating": scope.last_rating,
                  "paused_by": scope.paused_by or site_paused_by, "forced": scope.forced}
        if a is None:
            return TelescopeView(scope.name, scope.site,
                                 "idle" if scope.last_outcome else "unknown", **common)
        progress = remaining = None
        if now is not None:
            total = (a.expected_end - a.expected_start).total_seconds()
            elapsed = (now - a.expected_start).total_seconds()
            progress = 1.0 if total <= 0 else min(1.0, max(0.0, elapsed / total))
            remaining = (a.expected_end - now).total_seconds()
        return TelescopeView(scope.name, scope.site, "observing", target=a.target,
                             filter=a.filter, request_id=a.request_id,
                             observation_id=a.observation_id, expected_start=a.expected_start,
                             expected_end=a.expected_end, progress=progress,
                             remaining_s=remaining, **common)


def _replace(info: NightInfo, **changes: Any) -> NightInfo:
    from dataclasses import replace

    return replace(info, **changes)
