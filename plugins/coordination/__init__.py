"""Multi-site coordination: simultaneous observations, relay coverage, monitoring cadence.

Registered as the ``coordination`` plugin (class :class:`Coordination`). Division
of labour between sites is part of the value formula; confirmation of
detections at other sites is part of the follow-up generator.
"""

from plugins.coordination.plugin import RELAY_PROGRAMS, SIMULTANEOUS_PROGRAMS, Coordination
from plugins.coordination.relay import LastExposure, handoff_mask
from plugins.coordination.simultaneous import partner_id

__all__ = ["RELAY_PROGRAMS", "SIMULTANEOUS_PROGRAMS", "Coordination", "LastExposure",
           "handoff_mask", "partner_id"]
