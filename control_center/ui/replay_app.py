"""The auditor's console: a recorded night played back from its log alone.

:class:`ReplayConsole` is the observer's console fed by a
:class:`~control_center.ui.model.replay.ReplayFollower` instead of the live
follower: the same views show, at each log position, what the live console
showed there. It is read-only: an override asked for in a replay is refused
with a notice, nothing is recorded.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding

from control_center.ui.app import DEFAULT_POLL_INTERVAL_S, ObserverConsole
from control_center.ui.model.replay import ReplayFollower, parse_jump_time
from control_center.ui.model.views import ConsoleSnapshot
from control_center.ui.views.live_table import LiveTable

__all__ = ["READ_ONLY", "ReplayConsole", "build_replay"]

READ_ONLY = "A replay is read-only: overrides are not recorded"


class ReplayConsole(ObserverConsole):
    """The console over a recorded night, with playback controls (see :mod:`.model.replay`)."""

    TITLE = "OpenAstro replay"
    read_only: ClassVar[str | None] = READ_ONLY
    BINDINGS: ClassVar = [
        *ObserverConsole.BINDINGS,
        Binding("space", "play", "Play/pause"),
        Binding("full_stop", "step(1)", "Step"),
        Binding("comma", "step(-1)", "Back"),
        Binding("plus,equals_sign", "faster", "Faster"),
        Binding("minus", "slower", "Slower", show=False),
        Binding("m", "speed_mode", "x / ev/s", show=False),
        Binding("t", "jump_time", "Time"),
        Binding("j", "jump_decision", "Decision"),
    ]

    follower: ReplayFollower

    def __init__(self, follower: ReplayFollower, *, observer: str,
                 poll_interval: float = DEFAULT_POLL_INTERVAL_S) -> None:
        super().__init__(follower, observer=observer, poll_interval=poll_interval)
        self._highlight: str | None = None
        """A decision jumped to, to select in the Decisions view once it is shown."""

    # -- playback --------------------------------------------------------------------------

    def action_play(self) -> None:
        if self.snapshot is not None and self.snapshot.replay is not None \
                and self.snapshot.replay.at_end and not self.follower.status.playing:
            self.notify("The end of the night: step back or jump to replay more.", timeout=4)
            return
        self.follower.toggle_play()
        self.wake_follower()

    def action_step(self, events: int) -> None:
        self.follower.step(events)
        self.wake_follower()

    def action_faster(self) -> None:
        self.notify(f"Speed {self.follower.faster()}", timeout=2)
        self.wake_follower()

    def action_slower(self) -> None:
        self.notify(f"Speed {self.follower.slower()}", timeout=2)
        self.wake_follower()

    def action_speed_mode(self) -> None:
        self.notify(f"Speed {self.follower.toggle_mode()}", timeout=2)
        self.wake_follower()

    def action_jump_time(self) -> None:
        from control_center.ui.screens.jump_dialog import JumpDialog

        night = self.snapshot.night if self.snapshot is not None else None
        if night is None:
            self.notify("No night loaded yet.", severity="warning", timeout=4)
            return

        def answered(text: str | None) -> None:
            if text is None:
                return
            try:
                when = parse_jump_time(text, night.start, night.end)
            except ValueError as exc:
                self.notify(str(exc), title="Jump", severity="error", timeout=6)
                return
            self.follower.pause()
            index = self.follower.seek_time(when)
            self.notify(f"{when:%Y-%m-%d %H:%M:%S} UTC: event {index:,}", title="Jump",
                        timeout=3)
            self.wake_follower()

        self.push_screen(JumpDialog(
            "Jump to a time", f"Simulated UTC time within the night "
            f"({night.start:%H:%M}-{night.end:%H:%M}): HH:MM, HH:MM:SS or ISO.", "HH:MM"),
            answered)

    def action_jump_decision(self) -> None:
        from control_center.ui.screens.jump_dialog import JumpDialog

        def answered(text: str | None) -> None:
            if not text or not text.strip():
                return
            try:
                found = self.follower.seek_decision(text)
            except LookupError as exc:
                self.notify(str(exc), title="Jump", severity="error", timeout=6)
                return
            if found is None:
                self.notify(f"No decision {text.strip()!r} in this night.", title="Jump",
                            severity="error", timeout=6)
                return
            self._highlight = found
            self.action_show_view("decisions")
            self.wake_follower()

        self.push_screen(JumpDialog("Jump to a decision",
                                    "Its id, or the start of it (as openastro explain takes).",
                                    "decision id"), answered)

    def after_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        wanted = self._highlight
        if wanted is not None and any(d.decision_id == wanted for d in snapshot.decisions):
            self._highlight = None
            self.action_show_view("decisions")
            view = self.view("decisions")
            view.show(snapshot)
            table = view.query_one(LiveTable)
            if wanted in table.keys:
                table.move_cursor(row=table.keys.index(wanted))
            table.focus()
            self.notify(f"Decision {wanted[:8]}: Enter explains it.", title="Jump", timeout=4)


def build_replay(db: str, *, observer: str = "auditor",
                 poll_interval: float = DEFAULT_POLL_INTERVAL_S,
                 follower: ReplayFollower | None = None) -> ReplayConsole:
    """The replay console on the log at ``db``.

    Parameters
    ----------
    db : str
        The recorded log (a SQLite path or a database URL).
    observer : str
        Shown on the status line (nothing is recorded in a replay).
    poll_interval : float
        Nominal seconds between two playback ticks.
    follower : ReplayFollower, optional
        A follower to use instead of a new one (tests).
    """
    return ReplayConsole(follower or ReplayFollower(db, tick_s=poll_interval),
                         observer=observer, poll_interval=poll_interval)
