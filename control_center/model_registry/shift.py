"""Distribution-shift monitor: flags a model stale at a site whose inputs drift.

:class:`ShiftMonitor` listens to the log (``log.subscribe(m.on_recorded)``, or
:meth:`catch_up` over a finished log). It keeps each site's recent
``FrameAnalyzed`` measures; every ``window`` frames of a site it compares them
with the training-input summary of every model in force that has one
(metadata key ``input_summary``, see :mod:`models.trust`) by the population
stability index of the worst feature. Above ``threshold`` it records
``ModelStale`` (site, model, statistic, value, threshold, feature) and
``RetrainingProposed``, once per model and site until a new version is
promoted. Windows do not overlap, so each frame is judged once.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

from control_center.events import FrameAnalyzed
from control_center.events.model import ModelPromoted, ModelStale, RetrainingProposed
from control_center.model_registry.projection import ModelsInForce
from control_center.model_registry.registry import ACTOR, model_stream
from control_center.model_registry.store import ModelStore
from models.catalogue import Catalogue, CatalogueError
from models.trust import PSI_THRESHOLD, SUMMARY_KEY, shift_statistic

__all__ = ["ShiftMonitor"]

_log = logging.getLogger(__name__)
_SOURCE = "FrameAnalyzed.measures"


class ShiftMonitor:
    """Compares each site's recent frames with the training data of the models in force.

    Parameters
    ----------
    log : EventLog
        Read for the models in force; ``ModelStale`` / ``RetrainingProposed`` go here.
    store : ModelStore, optional
        The registry's store (metadata of versions promoted through the log).
    catalogue : Catalogue, optional
        Shipped versions (in force until a promotion).
    window : int
        Frames of a site per comparison (200: with one feature from the training
        distribution PSI stays below 0.16 in 5,000 windows of 200; a shift of 0.7
        standard deviations crosses 0.25 in 99 % of windows).
    threshold : float
        PSI above which the model is stale at that site.
    """

    def __init__(self, log: Any, *, store: ModelStore | None = None,
                 catalogue: Catalogue | None = None, window: int = 200,
                 threshold: float = PSI_THRESHOLD) -> None:
        if window < 10:
            raise ValueError(f"window must be at least 10 frames, got {window}")
        self.log, self.store = log, store
        self.catalogue = catalogue or Catalogue()
        self.window, self.threshold = window, threshold
        self._recent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._flagged: set[tuple[str, str]] = set()
        self._summaries: dict[str, tuple[str, dict[str, Any]]] | None = None
        self.position = 0

    # -- the models watched ------------------------------------------------------------

    def summaries(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """``{model: (version in force, input summary)}`` of models that carry one."""
        if self._summaries is None:
            state = ModelsInForce()
            for recorded in self.log.read(types=ModelsInForce.handles):
                state.apply(recorded)
            self._summaries = {}
            for name, model in state.models.items():     # flagged before we started
                self._flagged |= {(name, site) for site in model["stale"]}
            for name in sorted(set(self.catalogue.names()) | set(state.models)):
                found = self._summary_of(name, state)
                if found is not None:
                    self._summaries[name] = found
        return self._summaries

    def _summary_of(self, name: str, state: ModelsInForce) -> tuple[str, dict] | None:
        current = state.in_force(name)
        meta: dict[str, Any] = {}
        if current is not None:     # promoted through the log: its stored metadata
            version = current["version"]
            files = [f for f in current.get("files", {}) if f.endswith(".json")]
            if files and self.store is not None:
                try:
                    meta = json.loads(self.store.path(current["sha256"], files[0]).read_text())
                except (OSError, ValueError) as exc:
                    _log.warning("metadata of %s %s unreadable: %s", name, version, exc)
        else:
            try:
                shipped = self.catalogue.get(name).current
            except CatalogueError:
                return None
            if shipped is None:
                return None
            meta, version = shipped.metadata, shipped.version
        summary = meta.get(SUMMARY_KEY)
        if not isinstance(summary, dict) or summary.get("source", _SOURCE) != _SOURCE:
            return None
        return version, summary

    # -- listening ---------------------------------------------------------------------

    def on_recorded(self, recorded: Any) -> None:
        """Log listener (and the step of :meth:`catch_up`)."""
        self.position = max(self.position, recorded.position)
        event = recorded.event
        if isinstance(event, ModelPromoted):
            self._summaries = None
            self._flagged = {f for f in self._flagged if f[0] != event.name}
        elif isinstance(event, ModelStale):
            self._flagged.add((event.name, event.site))
        elif isinstance(event, FrameAnalyzed) and not event.error:
            recent = self._recent[event.site]
            recent.append(event.measures or {})
            if len(recent) >= self.window:
                self._recent[event.site] = []
                self._judge(event, recent)

    def catch_up(self) -> int:
        """Fold the log from where this monitor stopped; returns the events folded."""
        n = 0
        for recorded in self.log.read(after=self.position,
                                      types=(FrameAnalyzed, ModelPromoted, ModelStale)):
            self.on_recorded(recorded)
            n += 1
        self.position = max(self.position, self.log.last_position())
        return n

    def _judge(self, frame: FrameAnalyzed, recent: list[dict[str, Any]]) -> None:
        for name, (version, summary) in self.summaries().items():
            if (name, frame.site) in self._flagged:
                continue
            columns = {f: [m.get(f) if isinstance(m.get(f), int | float) else float("nan")
                           for m in recent] for f in summary.get("features", {})}
            stat = shift_statistic(columns, summary)
            if stat["feature"] == "" or stat["value"] <= self.threshold:
                continue
            self._flagged.add((name, frame.site))
            stream = model_stream(name)
            with self.log.batch(actor=ACTOR, sim_time=frame.sim_time) as batch:
                stale = batch.add(
                    ModelStale, stream=stream, causation=frame, name=name, version=version,
                    site=frame.site, statistic="psi", value=float(stat["value"]),
                    threshold=float(self.threshold), feature=stat["feature"], n=stat["n"],
                    details={"per_feature": {k: round(v, 4)
                                             for k, v in stat["per_feature"].items()},
                             "training_n": summary.get("n")})
                batch.add(RetrainingProposed, stream=stream, causation=stale, name=name,
                          version=version, sites=[frame.site],
                          reason=f"inputs at {frame.site} shifted: PSI {stat['value']:.3f} > "
                                 f"{self.threshold:g} on {stat['feature']} over the last "
                                 f"{stat['n']} frames")
