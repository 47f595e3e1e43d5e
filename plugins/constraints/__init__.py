"""Hard constraints (seed Component 3): visibility, twilight, moon, weather, instrument, timing.

Vectorised over all candidates; the Sun, the Moon and the Earth's orientation
are computed once per night for every site (:class:`SpanEphemeris`), target
positions analytically (:class:`SiteSky`). :mod:`plugins.constraints.visibility`
uses the same code for a night's observable windows (``openastro visibility``).
"""

from plugins.constraints.limits import CONSTRAINTS, Limits
from plugins.constraints.plugin import Constraints

__all__ = ["CONSTRAINTS", "Constraints", "Limits"]
