"""The Queue view: the night's requests with priority, program and progress."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from control_center.ui.model.views import ConsoleSnapshot, RequestRow
from control_center.ui.overrides import Field, Override
from control_center.ui.views.base import REASON, ConsoleView
from control_center.ui.views.format import state_text
from control_center.ui.views.live_table import LiveTable

__all__ = ["QueueView"]

COLUMNS = (("Request", "request", 22), ("Prio", "priority", 4), ("Done", "done", 6),
           ("State", "state", 12), ("Program", "program", 10), ("Kind", "kind", 9),
           ("Target", "target", 12), ("Filters", "filters", 10))


class QueueView(ConsoleView):
    """Requests under way first, then pending ones by priority, then those done."""

    title = "Queue"
    sections: ClassVar[tuple[str, ...]] = ("queue",)
    BINDINGS: ClassVar = [Binding("p", "priority", "Priority"), Binding("f", "force", "Force"),
                          Binding("v", "veto", "Veto")]

    def compose(self) -> ComposeResult:
        yield Static("", id="queue-summary", classes="detail")
        yield LiveTable(COLUMNS, id="queue-table")

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        rows = snapshot.requests
        self.query_one("#queue-table", LiveTable).sync([(r.request_id, _cells(r)) for r in rows])
        counts = {s: sum(1 for r in rows if r.state == s) for s in ("observing", "pending",
                                                                   "done")}
        self.query_one("#queue-summary", Static).update(
            f"{len(rows)} requests: {counts['observing']} under way, {counts['pending']} "
            f"pending, {counts['done']} done")

    def selected(self) -> RequestRow | None:
        key = self.query_one("#queue-table", LiveTable).selected_key
        if key is None or self.snapshot is None:
            return None
        return next((r for r in self.snapshot.requests if r.request_id == key), None)


    def action_priority(self) -> None:
        r = self.selected()
        self.request_override(r and Override(
            "set_priority", {"request_id": r.request_id},
            f"change the priority of {r.request_id} (now {r.priority:g})",
            (Field("priority", "New priority, 0-10", "number", value=f"{r.priority:g}",
                   required=True), REASON)), "Select a request first.")

    def action_force(self) -> None:
        r = self.selected()
        scopes = tuple(t.name for s in (self.snapshot.sites if self.snapshot else ())
                       for t in s.telescopes)
        self.request_override(r and Override(
            "force", {"request_id": r.request_id}, f"force {r.request_id} onto a telescope",
            (Field("telescope", "Telescope", "choice", options=scopes, required=True), REASON)),
            "Select a request first.")

    def action_veto(self) -> None:
        r = self.selected()
        self.request_override(r and Override(
            "veto", {"request_id": r.request_id}, f"veto {r.request_id} on every telescope",
            (REASON,)), "Select a request first.")


def _cells(r: RequestRow) -> tuple:
    state = state_text(r.state, f"on {r.observing_on}" if r.state == "observing" else r.state)
    if r.vetoed:
        state = state_text("rejected", f"vetoed ({r.vetoed})" if r.vetoed != "everywhere"
                           else "vetoed")
    elif r.forced_on:
        state = state_text("observing", f"forced: {r.forced_on}")
    failures = f" ({r.failures} failed)" if r.failures else ""
    return (r.request_id, f"{r.priority:g}", f"{r.done}/{r.wanted}{failures}", state, r.program,
            r.kind, r.target, " ".join(r.filters))
