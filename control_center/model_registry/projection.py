"""The models in force, folded from the log (projection ``models-in-force``).

For every model: each version recorded (metrics, promotion metric, training
data, status ``trained`` / ``promoted`` / ``rejected`` / ``retired``), the version
in force, the outcome of its deployment at each site, and the sites where it
was flagged stale (cleared by the next promotion).
"""

from __future__ import annotations

from typing import Any

from control_center.events.model import (
    ModelDeployed,
    ModelPromoted,
    ModelRejected,
    ModelStale,
    ModelTrained,
    RetrainingProposed,
)
from control_center.projections.base import Projection

__all__ = ["ModelsInForce"]


class ModelsInForce(Projection):
    """Versions, the version in force, deployments and staleness of every model."""

    name = "models-in-force"
    version = 1
    handles = (ModelTrained, ModelPromoted, ModelRejected, ModelDeployed, ModelStale,
               RetrainingProposed)

    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}

    def _model(self, name: str) -> dict[str, Any]:
        return self.models.setdefault(name, {"versions": {}, "in_force": None,
                                             "in_force_sha256": None, "deployments": {},
                                             "stale": {}, "proposals": 0})

    def apply_event(self, event: Any) -> None:
        model = self._model(event.name)
        versions = model["versions"]
        if isinstance(event, ModelTrained):
            versions[event.version] = {
                "version": event.version, "sha256": event.sha256, "metrics": event.metrics,
                "promotion_metric": event.promotion_metric,
                "training_data": event.training_data, "files": event.files,
                "status": "trained", "reason": "", "trained": event.sim_time.isoformat()}
        elif isinstance(event, ModelPromoted):
            old = versions.get(model["in_force"] or "")
            if old is not None and old["status"] == "promoted":
                old["status"] = "retired"
            entry = versions.setdefault(event.version, {"version": event.version,
                                                        "sha256": event.sha256})
            entry.update(status="promoted", reason=event.reason)
            model["in_force"], model["in_force_sha256"] = event.version, event.sha256
            model["stale"] = {}
        elif isinstance(event, ModelRejected):
            entry = versions.setdefault(event.version, {"version": event.version,
                                                        "sha256": event.sha256})
            entry.update(status="rejected", reason=event.reason)
        elif isinstance(event, ModelDeployed):
            model["deployments"][event.site] = {
                "version": event.version, "sha256": event.sha256, "ok": event.ok,
                "message": event.message, "at": event.sim_time.isoformat()}
        elif isinstance(event, ModelStale):
            model["stale"][event.site] = {
                "version": event.version, "statistic": event.statistic, "value": event.value,
                "threshold": event.threshold, "feature": event.feature, "n": event.n}
        elif isinstance(event, RetrainingProposed):
            model["proposals"] += 1

    def in_force(self, name: str) -> dict[str, Any] | None:
        """The version in force by the log (None: none promoted yet, the shipped one holds)."""
        model = self.models.get(name)
        if model is None or model["in_force"] is None:
            return None
        return model["versions"][model["in_force"]]

    def pending_sites(self, name: str, sites: list[str]) -> list[str]:
        """Sites whose last deployment of ``name`` is not the version in force."""
        model = self.models.get(name)
        if model is None or model["in_force"] is None:
            return []
        done = model["deployments"]
        return [s for s in sites if not (done.get(s, {}).get("ok")
                                         and done[s]["sha256"] == model["in_force_sha256"])]

    def to_state(self) -> dict[str, Any]:
        return {"models": self.models}

    def load_state(self, state: dict[str, Any]) -> None:
        self.models = state["models"]
