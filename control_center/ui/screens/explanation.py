"""The full explanation of one decision, as ``openastro explain`` prints it.

It is gathered from the log by :func:`control_center.audit.explain_decision`
in a worker thread (the log may be large); the screen shows it when ready.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

__all__ = ["ExplanationScreen", "explanation_text"]


def explanation_text(log_url: str, decision_id: str) -> str:
    """The explanation of ``decision_id`` in the log at ``log_url`` (every candidate)."""
    from control_center.audit import DecisionNotFound, explain_decision, format_explanation
    from control_center.eventlog import EventLog, LogError

    try:
        with EventLog.open(log_url, create=False) as log:
            return format_explanation(explain_decision(log, decision_id), top=0)
    except (LogError, DecisionNotFound) as exc:
        return f"Cannot explain decision {decision_id}: {exc}"


class ExplanationScreen(Screen):
    """One decision: trigger, state seen, candidates and scores, rejections, choice."""

    BINDINGS: ClassVar = [Binding("escape,q", "app.pop_screen", "Back")]

    class Loaded(Message):
        """The explanation was read from the log."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, log_url: str, decision_id: str) -> None:
        super().__init__()
        self.log_url = log_url
        self.decision_id = decision_id
        self.text: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"Decision {self.decision_id}", id="explanation-title", classes="title")
        with VerticalScroll(id="explanation-scroll"):
            yield Static("Reading the decision from the log…", id="explanation", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="explanation")
    def _load(self) -> None:
        self.post_message(self.Loaded(explanation_text(self.log_url, self.decision_id)))

    def on_explanation_screen_loaded(self, message: Loaded) -> None:
        self.text = message.text
        self.query_one("#explanation", Static).update(message.text)
        self.query_one("#explanation-scroll").focus()
