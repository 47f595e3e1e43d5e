"""Following a log that another process writes: :class:`LogFollower`.

The console's worker thread calls :meth:`LogFollower.poll` a few times a
second. A log that cannot be opened (missing, not a log, server down) or that
fails while being read is not an error that stops the console: ``problem``
says what is wrong and the next poll tries again, resuming where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from control_center.eventlog import LogError
from control_center.ui.model.state import ConsoleState
from control_center.ui.model.tail_fold import tail_from_log
from control_center.ui.model.views import TailFilter

__all__ = ["LogFollower", "PollResult"]

CHUNK = 20_000
"""Records folded per poll at most (a long log loads over several polls)."""
INITIAL_WINDOW = 200_000
"""Without a night in the log, folding starts this many records before its end."""
SPLIT_AT = 1000
"""A read this large is folded in two polls: first the position, time and tail (the
newest events show at once), then everything else."""


@dataclass(frozen=True)
class PollResult:
    """Outcome of one poll: whether the state changed, whether more records wait
    (poll again at once), and the current problem with the log (None: none)."""

    changed: bool
    more: bool
    problem: str | None


class LogFollower:
    """Folds a log into a :class:`ConsoleState`, poll by poll.

    Parameters
    ----------
    url : str
        The log: a SQLite path or a database URL.
    state : ConsoleState, optional
    chunk : int
        Records folded per poll at most.
    opener : callable, optional
        ``opener(url) -> EventLog`` (default: ``EventLog.open(url, create=False)``).

    Notes
    -----
    Folding starts at the last ``NightStarted`` of the log (what the running
    control center acts on), or :data:`INITIAL_WINDOW` records before the end
    of a log without a night.
    """

    def __init__(self, url: str, *, state: ConsoleState | None = None, chunk: int = CHUNK,
                 opener: Callable[[str], Any] | None = None) -> None:
        self.url = str(url)
        self.state = state or ConsoleState(self.url)
        self.chunk = chunk
        self.problem: str | None = None
        self.tail_filter = TailFilter()
        """The filter the Log view wants (set from any thread; applied at the next poll)."""
        self.sky_site: str | None = None
        """The site the Sky view shows (set from any thread; None: no sky picture)."""
        self._opener = opener or _open_existing
        self._log: Any = None
        self._started = False
        self._pending: list | None = None
        """Records whose :meth:`ConsoleState.fold_rest` is still to do."""

    def poll(self) -> PollResult:
        """Open the log if needed, refill the tail if its filter changed, fold new records."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.state.fold_rest(pending)
            return PollResult(True, True, self.problem)
        changed = False
        if self._log is None and not self._open():
            return PollResult(False, False, self.problem)
        try:
            if not self._started:
                self._start()
                changed = True
            wanted = self.tail_filter
            if wanted != self.state.tail.filter:
                self.state.tail.replace(wanted, tail_from_log(
                    self._log, wanted, self.state.tail.keep, before=self.state.position + 1))
                changed = True
            records = list(self._log.read(after=self.state.position, limit=self.chunk))
        except LogError as exc:
            self._fail(str(exc))
            return PollResult(changed, False, self.problem)
        if len(records) >= SPLIT_AT and not self._starts_night(records):
            self.state.fold_newest(records)
            self._pending = records
            return PollResult(True, True, self.problem)
        if records:
            self.state.fold(records)
            changed = True
        if self.sky_site != self.state.sky_site:
            self.state.sky_site = self.sky_site
            changed = True
        if self.problem is not None:
            self.problem = None
            changed = True
        return PollResult(changed, len(records) >= self.chunk, self.problem)

    @staticmethod
    def _starts_night(records: list) -> bool:
        from control_center.events import NightStarted

        return any(r.event_type is NightStarted for r in records)

    def open_log(self) -> Any:
        """The open log (None while it cannot be opened); for readers in the same thread."""
        return self._log

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _open(self) -> bool:
        try:
            self._log = self._opener(self.url)
        except LogError as exc:
            self.problem = str(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - e.g. a driver error not translated
            self.problem = f"event log {self.url}: cannot be opened ({type(exc).__name__}: {exc})"
            return False
        self.state.log_url = self._log.url
        if self._started and self._log.last_position() < self.state.position:
            # Another log now lives there: start again from it.
            self.state = ConsoleState(self._log.url, tail_keep=self.state.tail.keep,
                                      decisions_keep=self.state.decisions.keep)
            self._started = False
        return True

    def _start(self) -> None:
        from control_center.events import NightStarted

        night = next(iter(self._log.read_reverse(types=[NightStarted], limit=1)), None)
        if night is not None:
            self.state.position = night.position - 1
        else:
            self.state.position = max(0, self._log.last_position() - INITIAL_WINDOW)
        self._started = True

    def _fail(self, problem: str) -> None:
        self.problem = problem
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the log is already failing; drop it and retry later
            self._log = None


def _open_existing(url: str) -> Any:
    from control_center.eventlog import EventLog

    return EventLog.open(url, create=False)
