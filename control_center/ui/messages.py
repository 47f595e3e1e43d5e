"""Messages that travel across the whole console (widget-local ones live in their widget).

The log follower runs in a thread and reports only by posting these. High-rate
ones coalesce: a newer :class:`SnapshotReady` replaces one still waiting in
the queue, so a burst of events never piles up redraws.
"""

from __future__ import annotations

from textual.message import Message

from control_center.ui.model.views import ConsoleSnapshot
from control_center.ui.overrides import Override

__all__ = ["BackgroundFinished", "LogProblem", "OverrideRecorded", "OverrideRequested",
           "SnapshotReady"]


class SnapshotReady(Message):
    """The follower folded new events: what the views should show now."""

    def __init__(self, snapshot: ConsoleSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


class LogProblem(Message):
    """The log cannot be read (``problem`` says why), or can again (``problem`` None)."""

    def __init__(self, problem: str | None) -> None:
        super().__init__()
        self.problem = problem

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogProblem)


class BackgroundFinished(Message):
    """The work run alongside the console (the demo's night) ended; ``error`` if it failed."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


class OverrideRequested(Message):
    """A view asks for an override on what the observer selected."""

    def __init__(self, override: Override) -> None:
        super().__init__()
        self.override = override


class OverrideRecorded(Message):
    """An override was recorded (``error`` None) or refused (``error`` says why)."""

    def __init__(self, override: Override, error: str | None = None) -> None:
        super().__init__()
        self.override = override
        self.error = error
