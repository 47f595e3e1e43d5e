"""A site simulated inside the control center's process (no site node).

Used by ``openastro demo --in-process`` and by tests and benchmarks that
measure the decision loop alone: same :class:`~control_center.night.SiteLink`
interface as :class:`~control_center.sites.link.GrpcSiteLink`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from control_center.plugin_api.types import Conditions
from control_center.sites.detections import simulated_detections
from simulator.variability import target_v_mag
from site_node.backends.base import ObservationCommand

__all__ = ["InProcessSiteLink"]


class InProcessSiteLink:
    """One :class:`simulator.SimulatedSite` behind the SiteLink interface.

    The observation is simulated when it is submitted (no frame is rendered);
    :meth:`result` hands it back: a :class:`simulator.Observation` whose
    ``detections`` are the sky's transients in the field that an exposure of
    its depth detects (brightness against the limiting magnitude, seeded
    noise), labelled ``detector="simulated"``
    (:func:`~control_center.sites.detections.simulated_detections`); the night
    loop records them as ``TransientDetected`` events. A programme star is
    observed at its magnitude then (:func:`simulator.variability.target_v_mag`),
    as a site node's simulated backend does.
    """

    def __init__(self, simulated_site) -> None:
        self.site = simulated_site
        self._done: dict[str, object] = {}
        self._pointing: dict[str, tuple[float, float]] = {}
        self._filter: dict[str, str] = {}

    def condition_changes(self) -> list[tuple[datetime, Conditions]]:
        return self.site.condition_changes()

    def submit(self, command: ObservationCommand) -> str:
        scope = command.telescope
        v_mag = target_v_mag(self.site.seed, command.target, command.v_mag, command.start)
        self._done[command.observation_id] = self.site.observe(
            scope, command.ra_deg, command.dec_deg, v_mag, command.filter,
            command.exposure_s, command.priority, command.start, self._pointing.get(scope),
            self._filter.get(scope))
        self._pointing[scope] = (command.ra_deg, command.dec_deg)
        self._filter[scope] = command.filter
        return command.observation_id

    def result(self, observation_id: str):
        observation = self._done.pop(observation_id)
        return replace(observation, detections=simulated_detections(observation.detections))

    def close(self) -> None:
        """Nothing to release."""
