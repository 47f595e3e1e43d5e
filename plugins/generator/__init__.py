"""Observation generator (seed Component 5): proposes candidates for a telescope.

This first generator proposes the pending requests of the queue; survey
fields, follow-ups, calibrations and opportunistic work join it as the
decision-pipeline issue lands.
"""

from plugins.generator.queue import openastro_propose

__all__ = ["openastro_propose"]
