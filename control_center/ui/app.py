"""The observer's console: a Textual app over the event log of a running network.

:func:`build_console` is the factory. The app composes the views, runs the
log follower in a worker thread (it posts coalesced
:class:`~control_center.ui.messages.SnapshotReady` messages, so input is
never blocked by reading the log) and routes the views' requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import get_current_worker

from control_center.ui.messages import (
    BackgroundFinished,
    LogProblem,
    OverrideRecorded,
    OverrideRequested,
    SnapshotReady,
)
from control_center.ui.model import ConsoleSnapshot, LogFollower
from control_center.ui.overrides import Override, apply_override
from control_center.ui.views.alerts import AlertsView
from control_center.ui.views.base import ConsoleView
from control_center.ui.views.decisions import DecisionsView
from control_center.ui.views.lightcurves import LightCurvesView
from control_center.ui.views.log_tail import LogView
from control_center.ui.views.network import NetworkView
from control_center.ui.views.queue import QueueView
from control_center.ui.views.sky import SkyView
from control_center.ui.views.status import StatusLine
from control_center.ui.views.trends import TrendsView

__all__ = ["DEFAULT_POLL_INTERVAL_S", "ObserverConsole", "build_console"]

DEFAULT_POLL_INTERVAL_S = 0.1
"""How often the follower asks the log for new events."""
DRAW_WAIT_S = 0.25
"""While a burst is folded in several polls, the follower waits up to this long for the
screen to draw each snapshot before folding on."""

VIEWS: tuple[tuple[str, type[ConsoleView]], ...] = (
    ("network", NetworkView), ("decisions", DecisionsView), ("log", LogView),
    ("queue", QueueView), ("alerts", AlertsView), ("sky", SkyView), ("trends", TrendsView),
    ("lightcurves", LightCurvesView))


class ObserverConsole(App):
    """The console. Build it with :func:`build_console`."""

    CSS_PATH = "console.tcss"
    read_only: ClassVar[str | None] = None
    """Why overrides are refused (a replay), None when they are recorded."""
    TITLE = "OpenAstro observer console"
    BINDINGS: ClassVar = [
        Binding("q", "quit", "Quit"),
        *(Binding(str(i), f"show_view('{key}')", view.title, show=False)
          for i, (key, view) in enumerate(VIEWS, 1)),
    ]

    def __init__(self, follower: LogFollower, *, observer: str,
                 poll_interval: float = DEFAULT_POLL_INTERVAL_S,
                 background: Callable[[], Any] | None = None) -> None:
        super().__init__()
        self.follower = follower
        self.observer = observer
        self.poll_interval = poll_interval
        self.snapshot: ConsoleSnapshot | None = None
        self.log_problem: str | None = None
        self._background = background
        self._wake = threading.Event()
        self._drawn = threading.Event()
        self._seen_unknown: set[str] = set()
        self._seen_notices: set[str] = set()

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(self.follower.url, self.observer, id="status")
        with TabbedContent(initial="network", id="views"):
            for i, (key, view) in enumerate(VIEWS, 1):
                with TabPane(f"{i} {view.title}", id=key):
                    yield view(id=f"{key}-view")
        yield Footer()

    def on_mount(self) -> None:
        self.view("network").focus_main()
        self.follow_log()
        if self._background is not None:
            threading.Thread(target=self._run_background, name="console-background",
                             daemon=True).start()

    def view(self, key: str) -> ConsoleView:
        """The view named ``key`` (``network``, ``decisions``, ``log``, ``queue``, ``alerts``,
        ``sky``, ``trends``, ``lightcurves``)."""
        return self.query_one(f"#{key}-view", ConsoleView)

    @property
    def active_view(self) -> ConsoleView:
        return self.view(self.query_one("#views", TabbedContent).active)

    def action_show_view(self, key: str) -> None:
        self.query_one("#views", TabbedContent).active = key

    # -- the log follower ----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="log-follower", exit_on_error=False)
    def follow_log(self) -> None:
        """Poll the log, fold what is new, post the snapshot (runs in a thread)."""
        worker = get_current_worker()
        last_problem: Any = object()
        try:
            while not worker.is_cancelled:
                result = self.follower.poll()
                if result.changed:
                    self._drawn.clear()
                    self.post_message(SnapshotReady(self.follower.snapshot()))
                    if result.more:
                        # let the screen draw it before folding on (one GIL for both)
                        self._drawn.wait(DRAW_WAIT_S)
                if result.problem != last_problem:
                    last_problem = result.problem
                    self.post_message(LogProblem(result.problem))
                if not result.more:
                    self._wake.wait(self.poll_interval)
                    self._wake.clear()
        finally:
            self.follower.close()

    def wake_follower(self) -> None:
        """Poll now rather than at the next interval."""
        self._wake.set()

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "log-follower")
        self._wake.set()

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        snapshot = self.snapshot = message.snapshot
        self.call_after_refresh(self._drawn.set)
        self.query_one("#status", StatusLine).show(snapshot)
        self.active_view.show(snapshot)
        for topic in snapshot.unknown_types:
            if topic not in self._seen_unknown:
                self._seen_unknown.add(topic)
                self.notify(f"The log holds events of a type this console does not know "
                            f"({topic}); the Log view shows them as recorded.",
                            title="Unknown event type", severity="warning", timeout=8)
        for notice in snapshot.notices:
            if notice not in self._seen_notices:
                self._seen_notices.add(notice)
                self.notify(notice, severity="warning", timeout=8)
        self.after_snapshot(snapshot)

    def after_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        """Called once ``snapshot`` is shown (a hook for subclasses)."""

    def on_log_problem(self, message: LogProblem) -> None:
        before, self.log_problem = self.log_problem, message.problem
        self.query_one("#status", StatusLine).set_problem(message.problem)
        if message.problem and not before:
            self.notify(f"{message.problem} (retrying)", title="Event log unavailable",
                        severity="error", timeout=10)
        elif before and not message.problem:
            self.notify("The event log can be read again.", title="Event log")

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        view = self.active_view
        sky = self.view("sky")
        self.follower.sky_site = sky.site if view is sky else None
        self.follower.feasibility = view is self.view("queue")
        self.wake_follower()
        if self.snapshot is not None:
            view.show(self.snapshot)
        view.focus_main()

    # -- requests from the views -----------------------------------------------------------

    def on_decisions_view_explain_requested(self, message: DecisionsView.ExplainRequested
                                            ) -> None:
        from control_center.ui.screens.explanation import ExplanationScreen

        self.push_screen(ExplanationScreen(self.follower.url, message.decision_id))

    def on_sky_view_site_chosen(self, message: SkyView.SiteChosen) -> None:
        if self.active_view is self.view("sky"):
            self.follower.sky_site = message.site
            self.wake_follower()

    def on_log_view_filter_changed(self, message: LogView.FilterChanged) -> None:
        self.follower.tail_filter = message.tail_filter
        self.wake_follower()

    # -- overrides -----------------------------------------------------------------------

    def on_override_requested(self, message: OverrideRequested) -> None:
        from control_center.ui.screens.override_dialog import OverrideDialog

        override = message.override
        if self.read_only is not None:
            self.notify(f"{self.read_only} ({override.summary})", title="Read-only",
                        severity="warning", timeout=5)
            return

        def answered(answers: dict | None) -> None:
            if answers is not None:
                self.record_override(override.with_answers(answers))

        self.push_screen(OverrideDialog(override, self.observer), answered)

    @work(thread=True, group="overrides", exit_on_error=False)
    def record_override(self, override: Override) -> None:
        """Record ``override`` in the log (in a thread: it writes to the database)."""
        from control_center.eventlog import LogError
        from control_center.overrides import OverrideError

        try:
            apply_override(self.follower.url, override, self.observer)
        except (OverrideError, LogError) as exc:
            self.post_message(OverrideRecorded(override, str(exc)))
        else:
            self.post_message(OverrideRecorded(override))
        self.wake_follower()

    def on_override_recorded(self, message: OverrideRecorded) -> None:
        if message.error:
            self.notify(message.error, title="Override refused", severity="error", timeout=10)
        else:
            self.notify(f"Recorded: {message.override.summary}.", title="Override")

    # -- background work (the demo's night) ------------------------------------------------

    def _run_background(self) -> None:
        try:
            self._background()
        except BaseException as exc:  # noqa: BLE001 - shown to the observer, not swallowed
            self.post_message(BackgroundFinished(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(BackgroundFinished(None))

    def on_background_finished(self, message: BackgroundFinished) -> None:
        status = self.query_one("#status", StatusLine)
        if message.error:
            status.set_background(f"the night stopped: {message.error}")
            self.notify(message.error, title="The night stopped", severity="error", timeout=15)
        else:
            status.set_background("the night is over; q quits")
            self.notify("The simulated night is over.", title="Night")

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for i, (key, view) in enumerate(VIEWS, 1):
            yield SystemCommand(f"Show {view.title}", f"Switch to the {view.title} view ({i})",
                                partial(self.action_show_view, key))
        yield SystemCommand("Explain the selected decision",
                            "Open the full explanation of the decision under the cursor",
                            self._explain_selected)
        yield SystemCommand("Filter the log", "Filter the Log view by type, site and actor",
                            self._focus_log_filter)

    def _explain_selected(self) -> None:
        self.action_show_view("decisions")
        self.view("decisions").action_explain()

    def _focus_log_filter(self) -> None:
        self.action_show_view("log")
        self.call_after_refresh(self.view("log").action_focus_filter)


def build_console(db: str, *, observer: str, poll_interval: float = DEFAULT_POLL_INTERVAL_S,
                  background: Callable[[], Any] | None = None,
                  follower: LogFollower | None = None) -> ObserverConsole:
    """The console attached to the log at ``db`` (a SQLite path or a database URL).

    Parameters
    ----------
    db : str
        The log to follow; it may not exist yet (the console waits for it).
    observer : str
        Name recorded with the observer's overrides.
    poll_interval : float
        Seconds between two reads of the log.
    background : callable, optional
        Work to run in a daemon thread while the console is open (the demo's
        night); its end or failure is shown to the observer.
    follower : LogFollower, optional
        A follower to use instead of a new one (tests).
    """
    return ObserverConsole(follower or LogFollower(db), observer=observer,
                           poll_interval=poll_interval, background=background)
