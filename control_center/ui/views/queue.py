"""The Queue view: the night's requests with priority, program and progress."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from control_center.ui.model.feasibility import Feasibility
from control_center.ui.model.views import ConsoleSnapshot, RequestRow
from control_center.ui.overrides import Field, Override
from control_center.ui.views.base import REASON, ConsoleView
from control_center.ui.views.format import state_text
from control_center.ui.views.live_table import LiveTable

__all__ = ["QueueView"]

COLUMNS = (("Request", "request", 19), ("Prio", "priority", 4), ("Done", "done", 6),
           ("State", "state", 12), ("Now", "now", 13), ("Later tonight", "later", 18),
           ("Program", "program", 10), ("Kind", "kind", 9), ("Target", "target", 12),
           ("Filters", "filters", 10))


class QueueView(ConsoleView):
    """Requests under way first, then pending ones by priority, then those done."""

    title = "Queue"
    sections: ClassVar[tuple[str, ...]] = ("queue", "feasibility")
    BINDINGS: ClassVar = [Binding("p", "priority", "Priority"), Binding("f", "force", "Force"),
                          Binding("v", "veto", "Veto")]

    def compose(self) -> ComposeResult:
        yield Static("", id="queue-summary", classes="detail")
        yield LiveTable(COLUMNS, id="queue-table")
        yield Static("", id="request-detail", classes="detail")

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        rows = snapshot.requests
        feasible = snapshot.feasibility
        self.query_one("#queue-table", LiveTable).sync(
            [(r.request_id, _cells(r, feasible.get(r.request_id))) for r in rows])
        counts = {s: sum(1 for r in rows if r.state == s) for s in ("observing", "pending",
                                                                   "done")}
        self.query_one("#queue-summary", Static).update(
            f"{len(rows)} requests: {counts['observing']} under way, {counts['pending']} "
            f"pending, {counts['done']} done"
            + (f"; {sum(1 for f in feasible.values() if f.now_ok)} observable now"
               if feasible else ""))
        self._show_detail()

    def on_live_table_row_highlighted(self, event: LiveTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        r = self.selected()
        f = self.snapshot.feasibility.get(r.request_id) if r and self.snapshot else None
        self.query_one("#request-detail", Static).update(
            "" if r is None else f"{r.request_id}: " + (
                f.detail if f is not None else "done" if r.state == "done"
                else "feasibility: computing..."))

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


def _cells(r: RequestRow, f: Feasibility | None) -> tuple:
    state = state_text(r.state, f"on {r.observing_on}" if r.state == "observing" else r.state)
    if r.vetoed:
        state = state_text("rejected", f"vetoed ({r.vetoed})" if r.vetoed != "everywhere"
                           else "vetoed")
    elif r.forced_on:
        state = state_text("observing", f"forced: {r.forced_on}")
    failures = f" ({r.failures} failed)" if r.failures else ""
    if f is None:
        now, later = Text("-", style="dim"), "-"
    else:
        now = Text(f.now, style="green" if f.now_ok else "yellow")
        later = f.later
    return (r.request_id, f"{r.priority:g}", f"{r.done}/{r.wanted}{failures}", state, now,
            later, r.program, r.kind, r.target, " ".join(r.filters))
