"""Expected science value of an exposure when the conditions are known in advance.

The simulator draws each exposure's luck (:func:`simulator.outcome.simulate_outcome`:
a passing cloud ruining it, thin-cloud transparency, a guiding failure in wind);
the hindsight bound needs the *expected* value of observing a target at a given
time under the conditions that will be there. This module evaluates the same
model, vectorised over candidates, and averages the luck out exactly (the ruin
and guiding failures are Bernoulli with the simulator's probabilities) or by
quadrature (the transparency's uniform, on :data:`TRANSPARENCY_NODES` points).

A unit test checks it against the mean of many :func:`simulate_outcome` draws,
so the two cannot drift apart silently.
"""

from __future__ import annotations

import numpy as np

from control_center.network import Telescope
from control_center.plugin_api.types import Conditions
from models.scheduler.physics import TRANSPARENCY_NODES, success_probability
from models.scheduler.physics import expected_values as _expected_values
from simulator.site import SimulatedSite

__all__ = ["TRANSPARENCY_NODES", "expected_values", "success_probability"]


def expected_values(sim: SimulatedSite, telescope: Telescope, t_s: float, ra_deg, dec_deg,
                    v_mag, filters, exposure_s, priority,
                    conditions: Conditions | None = None) -> np.ndarray:
    """Expected science value of observing each candidate on ``telescope`` at ``t_s``.

    :func:`models.scheduler.physics.expected_values` (the computation, shared with
    the learned policy's features) under ``conditions``, by default the site's
    simulated weather at ``t_s`` (what the hindsight bound knows in advance).
    """
    c = conditions if conditions is not None else sim.weather.conditions(t_s)
    return _expected_values(sim, telescope, t_s, ra_deg, dec_deg, v_mag, filters, exposure_s,
                            priority, c)
