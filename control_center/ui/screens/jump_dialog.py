"""The replay's jump dialog: one line of input (a time, a decision id)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

__all__ = ["JumpDialog"]


class JumpDialog(ModalScreen[str | None]):
    """Asks for where to jump; dismisses with the text (Enter) or None (Esc)."""

    DEFAULT_CSS = """
    JumpDialog { align: center middle; }
    JumpDialog > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $primary; padding: 0 1;
        background: $surface;
    }
    JumpDialog .hint { color: $text-muted; }
    """
    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, hint: str, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title")
            yield Static(self.hint, classes="hint")
            yield Input(placeholder=self.placeholder, id="jump-input", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
