"""Everything the console shows, folded from the log: :class:`ConsoleState`.

It runs in the follower's thread and hands the views immutable
:class:`~control_center.ui.model.views.ConsoleSnapshot` objects. Records are
dispatched by type without decoding; each fold decodes only what it keeps,
and every part stays bounded however long the night.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from control_center.eventlog import LogError
from control_center.events import NightStarted
from control_center.ui.model.alerts_fold import AlertsFold
from control_center.ui.model.decisions_fold import DECISION_TYPES, DecisionFeed
from control_center.ui.model.feasibility import FeasibilityModel
from control_center.ui.model.lightcurves_fold import LightCurvesFold
from control_center.ui.model.network_fold import NetworkFold
from control_center.ui.model.queue_fold import QueueFold
from control_center.ui.model.tail_fold import LogTail
from control_center.ui.model.trends_fold import TrendsFold
from control_center.ui.model.views import ConsoleSnapshot

__all__ = ["ConsoleState"]

MAX_NOTICES = 20
MAX_UNKNOWN_TYPES = 50


class ConsoleState:
    """The folds of every view, fed with recorded events in log order.

    Parameters
    ----------
    log_url : str
        Where the log lives (for display).
    tail_keep, decisions_keep : int
        Rows kept by the Log and Decisions views.

    Attributes
    ----------
    position : int
        Last log position folded.
    sim_time : datetime or None
        Latest simulated time seen: the console's "now".
    """

    def __init__(self, log_url: str = "", *, tail_keep: int = 300,
                 decisions_keep: int = 500) -> None:
        self.log_url = log_url
        self.position = 0
        self.sim_time: datetime | None = None
        self.events_folded = 0
        self.network = NetworkFold()
        self.decisions = DecisionFeed(decisions_keep)
        self.tail = LogTail(tail_keep)
        self.queue = QueueFold()
        self.alerts = AlertsFold()
        self.trends = TrendsFold()
        self.lightcurves = LightCurvesFold()
        self.unknown_types: dict[str, int] = {}
        self.notices: list[str] = []
        self._folds = (self.network, self.queue, self.alerts, self.trends, self.lightcurves)
        self._handlers: dict[type, tuple[Any, ...]] = {}
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._unknown_version = 0
        self.sky_site: str | None = None
        """The site the Sky view shows (None: the picture is not computed)."""
        self.feasibility_wanted = False
        """Whether the Queue view is shown (False: feasibility is not computed)."""
        self._feasibility = FeasibilityModel()

    # -- folding ---------------------------------------------------------------------

    def fold(self, records: Sequence[Any]) -> None:
        """Fold recorded events (consecutive, in log order)."""
        self.fold_newest(records)
        self.fold_rest(records)

    def fold_newest(self, records: Sequence[Any]) -> None:
        """The cheap part of :meth:`fold`: the log's position and time, and the tail.

        With :meth:`fold_rest` on the same records after it, the same as
        :meth:`fold`; in between, a snapshot already shows the newest events.
        """
        if not records:
            return
        self.tail.fold(records)
        last = records[-1]
        self.position = last.position
        self.events_folded += len(records)
        when = last.sim_time
        if isinstance(when, datetime) and (self.sim_time is None or when > self.sim_time):
            self.sim_time = when

    def fold_rest(self, records: Sequence[Any]) -> None:
        """Fold ``records`` into every view but the tail (see :meth:`fold_newest`)."""
        if not records:
            return
        decision_records: list[Any] = []
        for recorded in records:
            cls = recorded.event_type
            if cls is None:
                self._unknown(recorded.topic)
                continue
            if cls in DECISION_TYPES:
                decision_records.append(recorded)
                continue
            handlers = self._handlers.get(cls)
            if handlers is None:
                handlers = self._handlers[cls] = tuple(
                    f for f in self._folds if issubclass(cls, f.handles))
            if not handlers:
                continue
            try:
                event = recorded.event
            except LogError as exc:
                self._notice(f"event #{recorded.position} cannot be read: {exc.reason}")
                continue
            if cls is NightStarted:
                self.queue.clear()
                self.decisions.clear()
                decision_records.clear()
            for fold in handlers:
                try:
                    fold.apply(event, recorded.position)
                except Exception as exc:  # noqa: BLE001 - one odd event must not stop the console
                    self._notice(f"event #{recorded.position} ({cls.__name__}) cannot be "
                                 f"shown: {type(exc).__name__}: {exc}")
        try:
            self.decisions.fold(decision_records)
        except LogError as exc:
            self._notice(f"a decision cannot be read: {exc.reason}")

    def _unknown(self, topic: str) -> None:
        if topic not in self.unknown_types and len(self.unknown_types) >= MAX_UNKNOWN_TYPES:
            return
        self.unknown_types[topic] = self.unknown_types.get(topic, 0) + 1
        self._unknown_version += 1

    def _notice(self, text: str) -> None:
        self.notices.append(text)
        del self.notices[:-MAX_NOTICES]

    # -- snapshots -------------------------------------------------------------------

    def _section(self, name: str, version: Any, build: Any) -> Any:
        cached = self._cache.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        value = build()
        self._cache[name] = (version, value)
        return value

    def _sky(self) -> Any:
        site_name, night, now = self.sky_site, self.network.night, self.sim_time
        if site_name is None or night is None or now is None:
            return None
        site = self.network.site_description(site_name)
        if site is None:
            return None
        key = (site_name, now.replace(second=0, microsecond=0), self.queue.version,
               self.network.version)

        def build() -> Any:
            from control_center.ui.model.sky import sky_picture

            return sky_picture(site, night.start, night.end, now,
                               self.queue.wanted_positions(), self.network.pointings(site_name))

        return self._section("sky", key, build)

    def _feasible(self) -> Any:
        night, network, now = self.network.night, self.network.network, self.sim_time
        if not self.feasibility_wanted or night is None or network is None or now is None:
            return None
        wanted, sites = self.queue.wanted_requests(), self.network.site_states()
        key = (night.night_id, now.replace(second=0, microsecond=0),
               tuple(r[0] for r in wanted), tuple(sites.items()))

        def build() -> Any:
            return self._feasibility.evaluate(night, network, now, wanted, sites)

        return self._section("feasibility", key, build)

    def snapshot(self) -> ConsoleSnapshot:
        """What the views show now (immutable; safe to hand to another thread)."""
        sky = self._sky()
        feasibility = self._feasible()
        versions = {
            "network": self.network.version, "decisions": self.decisions.version,
            "tail": self.tail.version, "queue": self.queue.version,
            "alerts": self.alerts.version, "trends": self.trends.version,
            "lightcurves": self.lightcurves.version, "unknown": self._unknown_version,
            "sky": hash((sky.site, sky.when)) if sky is not None else 0,
            "feasibility": id(feasibility) if feasibility is not None else 0,
        }
        return ConsoleSnapshot(
            log_url=self.log_url, position=self.position, sim_time=self.sim_time,
            night=self.network.night,
            sites=self.network.view(self.sim_time),
            decisions=self._section("decisions", versions["decisions"], self.decisions.rows),
            tail=self._section("tail", versions["tail"], self.tail.rows),
            tail_filter=self.tail.filter,
            requests=self._section("queue", versions["queue"], self.queue.rows),
            alerts=self._section("alerts", versions["alerts"], self.alerts.rows),
            trends=self._section("trends", versions["trends"], self.trends.series),
            unknown_types=tuple(self.unknown_types),
            notices=tuple(self.network.notices + self.notices),
            versions=versions, events_folded=self.events_folded, sky=sky,
            feasibility=feasibility or {},
            lightcurves=self.lightcurves.section(),
        )
