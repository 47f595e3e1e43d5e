"""The Alerts view: notices received, rejected or retracted, with their follow-ups; anomalies
found in frames; calibration drifts and light-curve alerts of the photometry chain."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from control_center.ui.model.alerts_fold import PHOTOMETRY_STATUSES
from control_center.ui.model.views import AlertRow, ConsoleSnapshot
from control_center.ui.overrides import Override
from control_center.ui.views.base import NOTE, ConsoleView
from control_center.ui.views.format import clock, state_text
from control_center.ui.views.live_table import LiveTable

__all__ = ["AlertsView"]

COLUMNS = (("Time", "time", 8), ("Kind", "kind", 9), ("Alert", "alert", 20),
           ("Prio", "priority", 4), ("Status", "status", 14), ("Follow-ups", "followups", 10),
           ("Ack", "ack", "*"))


class AlertsView(ConsoleView):
    """Alerts, newest at the bottom; the one selected is detailed below the table."""

    title = "Alerts"
    sections: ClassVar[tuple[str, ...]] = ("alerts",)
    BINDINGS: ClassVar = [Binding("a", "acknowledge", "Acknowledge")]

    def compose(self) -> ComposeResult:
        yield LiveTable(COLUMNS, follow=True, id="alerts-table")
        yield Static("No alert in the log yet.", id="alert-detail", classes="panel")

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        self.query_one("#alerts-table", LiveTable).sync([(a.key, _cells(a)) for a in snapshot.alerts])
        self._show_detail()

    def on_live_table_row_highlighted(self, event: LiveTable.RowHighlighted) -> None:
        self._show_detail()

    def selected(self) -> AlertRow | None:
        key = self.query_one("#alerts-table", LiveTable).selected_key
        if key is None or self.snapshot is None:
            return None
        return next((a for a in self.snapshot.alerts if a.key == key), None)

    def action_acknowledge(self) -> None:
        alert = self.selected()
        override = None
        if alert is not None and alert.status in PHOTOMETRY_STATUSES:
            self.notify("Drift and light-curve alerts are not acknowledged: the Light curves "
                        "view shows the target, a calibration observation answers a drift.",
                        severity="warning", timeout=5)
            return
        if alert is not None and alert.is_anomaly:
            override = Override("acknowledge_anomaly",
                                {"observation_id": alert.observation_id},
                                f"acknowledge the {alert.kind} of {alert.telescope} "
                                f"({alert.short_id})", (NOTE,))
        elif alert is not None and alert.alert_id and alert.status != "rejected":
            override = Override("acknowledge_alert", {"alert_id": alert.alert_id},
                                f"acknowledge alert {alert.alert_id}", (NOTE,))
        self.request_override(override, "Select a received alert or an anomaly to "
                                        "acknowledge it.")

    def _show_detail(self) -> None:
        alert = self.selected()
        detail = self.query_one("#alert-detail", Static)
        if alert is None:
            detail.update("No alert in the log yet.")
            return
        if alert.status in PHOTOMETRY_STATUSES:
            what = "calibration drift" if alert.status == "drift" else "light curve"
            head = Text.assemble((f"{what}: {alert.source}", "bold"),
                                 f"  {alert.site}" if alert.status != "drift" else
                                 f"  at {alert.site}")
        elif alert.is_anomaly:
            head = Text.assemble(
                (f"{alert.kind} in observation {alert.observation_id}", "bold"),
                f"  {alert.telescope} at {alert.site}",
                f"  score {alert.score:.3g}" if alert.score is not None else "")
        else:
            head = Text.assemble(
                (alert.alert_id or alert.source or alert.key, "bold"), "  ",
                (alert.status, ""), f"  from {alert.broker or alert.source or '?'}")
        if alert.revision > 1:
            head.append(f"  revision {alert.revision}")
        lines = [head]
        if alert.note:
            lines.append(Text(alert.note, style="yellow" if alert.status != "received" or
                              alert.observable is False else ""))
        if alert.acknowledged_by:
            lines.append(Text(f"acknowledged by {alert.acknowledged_by}", style="green"))
        if alert.followups:
            lines.append(Text(f"follow-ups: {alert.requested} requested, {alert.assigned} "
                              f"assigned, {alert.completed} completed, {alert.failed} failed"))
            lines.extend(Text("  " + line) for line in alert.followups[-8:])
        elif alert.status == "received" or alert.is_anomaly:
            lines.append(Text("no follow-up yet", style="dim"))
        detail.update(Text("\n").join(lines))


_PHOTOMETRY_STYLES = {"drift": "bold magenta", "light-curve": "bold yellow"}


def _cells(a: AlertRow) -> tuple:
    followups = f"{a.completed}/{a.assigned}" + (f" ({a.failed} failed)" if a.failed else "")
    if a.status in PHOTOMETRY_STATUSES:
        where = f"{a.site} {a.source}" if a.status == "drift" else a.source
        return (clock(a.sim_time), a.kind, where,
                "-" if a.score is None else f"{a.score:.0f}σ"[:4],
                Text(a.status, style=_PHOTOMETRY_STYLES[a.status]), "-", "")
    if a.is_anomaly:
        return (clock(a.sim_time), a.kind, f"{a.telescope} {a.short_id}",
                "-" if a.score is None else f"{a.score:.2f}"[:4], state_text("anomalous", a.status),
                followups if a.assigned or a.requested else "-",
                Text("✓ " + a.acknowledged_by, style="green") if a.acknowledged_by else "")
    if a.status != "received" or not a.observable:
        status = state_text(a.status, a.status if a.observable is not False
                            else "not observable")
    else:
        status = state_text(a.status)
    return (clock(a.sim_time), a.kind or "-", a.alert_id or a.source or a.key,
            "-" if a.priority is None else f"{a.priority:g}", status,
            followups if a.assigned or a.requested else "-",
            Text("✓ " + a.acknowledged_by, style="green") if a.acknowledged_by else "")
