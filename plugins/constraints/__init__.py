"""Hard constraints (seed Component 3): visibility, twilight, moon, weather, instrument, timing.

Vectorised over all candidates, on per-night grids of the Sun, the Moon and
every target's altitude at each site.
"""

from plugins.constraints.plugin import Constraints

__all__ = ["Constraints"]
