"""The Decisions view: a live feed, one line per decision with its reason."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message

from control_center.ui.model.views import ConsoleSnapshot, DecisionRow
from control_center.ui.overrides import Override
from control_center.ui.views.base import REASON, ConsoleView
from control_center.ui.views.format import clock, state_text
from control_center.ui.views.live_table import LiveTable

__all__ = ["DecisionsView"]

COLUMNS = (("Time", "time", 8), ("Telescope", "telescope", 11), ("Outcome", "outcome", 16),
           ("Reason", "reason", "*"), ("Trigger", "trigger", 24))


class DecisionFeed(LiveTable):
    """The feed's table: Enter explains (and says so in the footer)."""

    BINDINGS: ClassVar = [Binding("enter", "select_cursor", "Explain")]


class DecisionsView(ConsoleView):
    """The newest decisions, newest at the bottom; Enter explains the one selected."""

    title = "Decisions"
    sections: ClassVar[tuple[str, ...]] = ("decisions",)
    BINDINGS: ClassVar = [Binding("v", "veto", "Veto")]

    class ExplainRequested(Message):
        """The observer wants the full explanation of a decision."""

        def __init__(self, decision_id: str) -> None:
            super().__init__()
            self.decision_id = decision_id

    def compose(self) -> ComposeResult:
        yield DecisionFeed(COLUMNS, follow=True, id="decision-feed")

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        self.query_one(LiveTable).sync([(d.decision_id, _cells(d)) for d in snapshot.decisions])

    def selected(self) -> DecisionRow | None:
        """The decision under the cursor."""
        key = self.query_one(LiveTable).selected_key
        if key is None or self.snapshot is None:
            return None
        return next((d for d in reversed(self.snapshot.decisions) if d.decision_id == key), None)

    def action_explain(self) -> None:
        row = self.selected()
        if row is not None:
            self.post_message(self.ExplainRequested(row.decision_id))

    def action_veto(self) -> None:
        row = self.selected()
        override = None
        if row is not None and row.outcome == "assigned" and row.request_id:
            override = Override("veto", {"request_id": row.request_id,
                                         "telescope": row.telescope},
                                f"veto {row.request_id} on {row.telescope}", (REASON,))
        self.request_override(override, "Select a decision that assigned work to veto it.")

    def on_live_table_row_selected(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.ExplainRequested(event.row_key))


def _cells(d: DecisionRow) -> tuple:
    outcome = (state_text("assigned", d.choice or "assigned") if d.outcome == "assigned"
               else state_text(d.outcome, "no assignment" if d.outcome == "none" else d.outcome))
    return (clock(d.sim_time), d.telescope, outcome, d.reason, d.trigger)
