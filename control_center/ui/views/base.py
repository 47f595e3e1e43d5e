"""What every view of the console shares: redraw only when its sections changed."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.containers import Vertical

from control_center.ui.model.views import ConsoleSnapshot
from control_center.ui.overrides import Field, Override

__all__ = ["ConsoleView"]


class ConsoleView(Vertical):
    """A view fed with :class:`ConsoleSnapshot` objects.

    Subclasses name the snapshot ``sections`` they show and implement
    :meth:`render_snapshot`; :meth:`show` calls it only when one of those
    sections changed since the last call.
    """

    sections: ClassVar[tuple[str, ...]] = ()
    title: ClassVar[str] = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown_key: Any = None
        self.snapshot: ConsoleSnapshot | None = None

    def change_key(self, snapshot: ConsoleSnapshot) -> Any:
        """What must differ for a redraw (default: the versions of :attr:`sections`)."""
        return tuple(snapshot.versions.get(s) for s in self.sections)

    def show(self, snapshot: ConsoleSnapshot, *, force: bool = False) -> None:
        """Show ``snapshot`` if anything this view shows changed (or ``force``)."""
        key = self.change_key(snapshot)
        self.snapshot = snapshot
        if force or key != self._shown_key:
            self._shown_key = key
            self.render_snapshot(snapshot)

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        """Draw ``snapshot`` (override)."""

    def request_override(self, override: Override | None, missing: str) -> None:
        """Ask the console for ``override``; ``missing`` tells the observer what to select
        when there is nothing to apply it to (``override`` None)."""
        from control_center.ui.messages import OverrideRequested

        if override is None:
            self.notify(missing, severity="warning", timeout=4)
        else:
            self.post_message(OverrideRequested(override))

    def focus_main(self) -> None:
        """Focus the view's main table (the first one), if it has one."""
        from control_center.ui.views.live_table import LiveTable

        tables = self.query(LiveTable)
        if tables:
            tables.first().focus()


REASON = Field("reason", "Reason")
NOTE = Field("note", "Note")


def rating(observation_id: str, rating_value: str, what: str) -> Override:
    """Rate an observation good or bad science."""
    return Override("rate", {"observation_id": observation_id, "rating": rating_value},
                    f"rate {what} as {rating_value} science", (NOTE,))
