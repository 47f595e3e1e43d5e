"""The Log view: the event log's tail, filterable by type, site and actor."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from control_center.ui.model.views import ConsoleSnapshot, TailFilter, TailRow
from control_center.ui.views.base import ConsoleView, rating
from control_center.ui.views.format import clock
from control_center.ui.views.live_table import LiveTable

__all__ = ["LogView"]

COLUMNS = (("#", "position", 6), ("Time", "time", 8), ("Type", "type", 18),
           ("Actor", "actor", 14), ("Event", "summary", "*"))
FILTER_DELAY_S = 0.3
"""Typing in a filter applies it after this pause."""


class LogView(ConsoleView):
    """The newest events (as ``openastro log tail``); the filters refill it from the log."""

    title = "Log"
    sections: ClassVar[tuple[str, ...]] = ("tail",)
    BINDINGS: ClassVar = [Binding("slash", "focus_filter", "Filter"),
                          Binding("escape", "clear_filter", "Clear filter", show=False),
                          Binding("g", "rate('good')", "Good"), Binding("b", "rate('bad')", "Bad")]

    class FilterChanged(Message):
        """The observer changed the Log view's filter."""

        def __init__(self, tail_filter: TailFilter) -> None:
            super().__init__()
            self.tail_filter = tail_filter

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-filters"):
            yield Input(placeholder="type", id="filter-type", compact=True)
            yield Input(placeholder="site", id="filter-site", compact=True)
            yield Input(placeholder="actor (site, plugin:x...)", id="filter-actor", compact=True)
        yield Static("", id="filter-state", classes="detail")
        yield LiveTable(COLUMNS, follow=True, id="tail")

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        self.query_one("#tail", LiveTable).sync(
            [(str(r.position), _cells(r)) for r in snapshot.tail])
        f = snapshot.tail_filter
        self.query_one("#filter-state", Static).update(
            f"{len(snapshot.tail)} newest events · {f.describe()}")

    def current_filter(self) -> TailFilter:
        value = {i.id: i.value.strip() for i in self.query(Input)}
        return TailFilter(type_name=value["filter-type"], site=value["filter-site"],
                          actor=value["filter-actor"])

    def set_filter(self, tail_filter: TailFilter) -> None:
        """Fill the inputs and apply ``tail_filter`` at once."""
        for input_id, value in (("filter-type", tail_filter.type_name),
                                ("filter-site", tail_filter.site),
                                ("filter-actor", tail_filter.actor)):
            self.query_one(f"#{input_id}", Input).value = value
        self._apply()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(FILTER_DELAY_S, self._apply)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply()
        self.query_one("#tail", LiveTable).focus()

    def _apply(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.post_message(self.FilterChanged(self.current_filter()))

    def selected(self) -> TailRow | None:
        key = self.query_one("#tail", LiveTable).selected_key
        if key is None or self.snapshot is None:
            return None
        return next((r for r in reversed(self.snapshot.tail) if str(r.position) == key), None)

    def action_rate(self, value: str) -> None:
        row = self.selected()
        override = None
        if row is not None and row.observation_id:
            override = rating(row.observation_id, value,
                              f"observation {row.observation_id[:8]} ({row.summary[:40]})")
        self.request_override(override, "Select an event about an observation to rate it.")

    def action_focus_filter(self) -> None:
        self.query_one("#filter-type", Input).focus()

    def action_clear_filter(self) -> None:
        self.set_filter(TailFilter())
        self.query_one("#tail", LiveTable).focus()


def _cells(r: TailRow) -> tuple:
    type_name = Text(r.type_name, style="" if r.known else "yellow")
    return (str(r.position), clock(r.sim_time), type_name, r.actor, r.summary)
