"""The console's data layer: folds of the event log into view models (no Textual here).

:class:`LogFollower` reads a log (polling) into a :class:`ConsoleState`, whose
:meth:`~ConsoleState.snapshot` is what the views show.
"""

from control_center.ui.model.follower import LogFollower, PollResult
from control_center.ui.model.state import ConsoleState
from control_center.ui.model.views import (
    AlertRow,
    ConsoleSnapshot,
    DecisionRow,
    NightInfo,
    RequestRow,
    SiteView,
    TailFilter,
    TailRow,
    TelescopeView,
    TrendSeries,
)

__all__ = ["AlertRow", "ConsoleSnapshot", "ConsoleState", "DecisionRow", "LogFollower",
           "NightInfo", "PollResult", "RequestRow", "SiteView", "TailFilter", "TailRow",
           "TelescopeView", "TrendSeries"]
