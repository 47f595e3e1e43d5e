"""The dialog of an override: what it does, the details to give, confirm or cancel."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from control_center.ui.overrides import Override

__all__ = ["OverrideDialog"]


class OverrideDialog(ModalScreen[dict | None]):
    """Asks for an override's details; dismisses with the answers, or None if cancelled.

    A destructive override says so and its confirm button is red.
    """

    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, override: Override, observer: str) -> None:
        super().__init__()
        self.override = override
        self.observer = observer

    def compose(self) -> ComposeResult:
        o = self.override
        with Vertical(id="dialog", classes="destructive" if o.destructive else ""):
            yield Static(o.summary[:1].upper() + o.summary[1:] + "?", id="dialog-title",
                         classes="title")
            if o.destructive:
                yield Static("This changes what the telescopes do: the decision loop honours "
                             "it at its next decision.", classes="warning")
            yield Static(f"Recorded in the log as observer:{self.observer}.", classes="detail")
            for f in o.fields:
                yield Label(f.label + ("" if f.required else " (optional)"))
                if f.kind == "choice":
                    yield Select([(v, v) for v in f.options], id=f"field-{f.name}",
                                 value=f.value if f.value in f.options else Select.NULL,
                                 allow_blank=True)
                else:
                    yield Input(f.value, id=f"field-{f.name}", compact=True,
                                type="number" if f.kind == "number" else "text")
            yield Static("", id="dialog-error", classes="error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Confirm" if o.destructive else "Record", id="confirm",
                             variant="error" if o.destructive else "primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        inputs = self.query("Input, Select")
        (inputs.first() if inputs else self.query_one("#cancel" if self.override.destructive
                                                      else "#confirm")).focus()

    def answers(self) -> dict[str, Any] | None:
        """The answers, or None (with the problem shown) when one is missing or invalid."""
        out: dict[str, Any] = {}
        for f in self.override.fields:
            widget = self.query_one(f"#field-{f.name}")
            value = widget.value
            if value is Select.NULL or value is None:
                value = ""
            value = str(value).strip()
            if not value:
                if f.required:
                    return self._invalid(f"{f.label} is required")
                if f.kind != "text":
                    continue
            if f.kind == "number" and value:
                try:
                    out[f.name] = float(value)
                except ValueError:
                    return self._invalid(f"{f.label} must be a number, got {value!r}")
            else:
                out[f.name] = value
        return out

    def _invalid(self, problem: str) -> None:
        self.query_one("#dialog-error", Static).update(problem)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm":
            self._confirm()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.override.destructive:
            self._confirm()

    def _confirm(self) -> None:
        answers = self.answers()
        if answers is not None:
            self.dismiss(answers)

    def action_cancel(self) -> None:
        self.dismiss(None)
