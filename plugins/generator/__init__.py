"""Observation generator (seed Component 5): what each telescope could do next.

Each generator is a plugin of its own, registered through the same entry-point
group as third-party plugins:

==============  =============================================  ==========================
plugin          proposes                                       module
==============  =============================================  ==========================
queue           the pending requests of the programme book     :mod:`.queue`
survey          HEALPix survey fields by coverage and yield    :mod:`.survey`
followups       colour, variability, confirmation, context     :mod:`.followups`
calibrations    darks, standards, focus, pointing, flats       :mod:`.calibrations`
opportunistic   bright targets when the programmes cannot run  :mod:`.opportunistic`
==============  =============================================  ==========================

This module is the ``queue`` plugin (its one hook is re-exported here).
"""

from plugins.generator.queue import openastro_propose

__all__ = ["openastro_propose"]
