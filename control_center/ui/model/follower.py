"""Following a log that another process writes: :class:`LogFollower`.

The console's worker thread calls :meth:`LogFollower.poll` a few times a
second. A log that cannot be opened (missing, not a log, server down) or that
fails while being read is not an error that stops the console: ``problem``
says what is wrong and the next poll tries again, resuming where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from control_center.eventlog import LogError
from control_center.ui.model.state import ConsoleState
from control_center.ui.model.tail_fold import REFILL_SCAN_LIMIT, tail_from_log
from control_center.ui.model.views import TailFilter

__all__ = ["LogFollower", "PollResult"]

CHUNK = 20_000
"""Records folded per poll at most (a long log loads over several polls)."""
INITIAL_WINDOW = 200_000
"""Without a night in the log, folding starts this many records before its end."""
SPLIT_AT = 1000
"""A burst this large shows its newest events first (position, time and tail, from the
newest records alone) and is folded into the other views by the next polls."""


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
        self.feasibility = False
        """Whether the Queue view is shown (set from any thread): feasibility is computed."""
        self._opener = opener or _open_existing
        self._log: Any = None
        self._started = False
        self._rest: tuple[int, int] | None = None
        """(after, last): records a burst left to fold into all but the tail."""

    def poll(self) -> PollResult:
        """Open the log if needed, refill the tail if its filter changed, fold new records."""
        changed = False
        if self._log is None and not self._open():
            return PollResult(False, False, self.problem)
        if self._rest is not None:
            return self._poll_rest()
        try:
            first = not self._started
            if first:
                self._start()
                changed = True
            wanted = self.tail_filter
            if wanted != self.state.tail.filter:
                self.state.tail.replace(wanted, tail_from_log(
                    self._log, wanted, self.state.tail.keep, before=self.state.position + 1))
                changed = True
            if not first and self._show_newest_first():
                return PollResult(True, True, self.problem)
            records = list(self._log.read(after=self.state.position, limit=self.chunk))
        except LogError as exc:
            self._fail(str(exc))
            return PollResult(changed, False, self.problem)
        if records:
            self.state.fold(records)
            changed = True
        if self.sync_wants():
            changed = True
        if self.problem is not None:
            self.problem = None
            changed = True
        return PollResult(changed, len(records) >= self.chunk, self.problem)

    def _show_newest_first(self) -> bool:
        """For a large gap (a burst): show the newest events at once, fold the rest after.

        Reads only the log's newest :attr:`ConsoleState.tail` rows (not the whole
        burst) to move the position, time and tail to the end; the records in
        between are folded into the other views by the next polls
        (:meth:`_poll_rest`). Returns whether it did.
        """
        last = self._log.last_position()
        gap = last - self.state.position
        if gap < SPLIT_AT or gap > REFILL_SCAN_LIMIT:
            return False
        tail = self.state.tail
        start = self.state.position
        if tail.filter.empty:
            newest = list(self._log.read_reverse(before=last + 1, limit=tail.keep))
            newest.reverse()
            if not newest or newest[-1].position != last:
                return False
            self.state.fold_newest(newest)
            self.state.events_folded += gap - len(newest)
        else:
            newest = list(self._log.read_reverse(before=last + 1, limit=1))
            if not newest or newest[-1].position != last:
                return False
            tail.replace(tail.filter, tail_from_log(self._log, tail.filter, tail.keep,
                                                    before=last + 1))
            self.state.position = last
            self.state.events_folded += gap
            when = newest[-1].sim_time
            if isinstance(when, datetime) and (self.state.sim_time is None
                                               or when > self.state.sim_time):
                self.state.sim_time = when
        self._rest = (start, last)
        return True

    def _poll_rest(self) -> PollResult:
        """Fold a chunk of what a burst left to fold (see :meth:`_show_newest_first`)."""
        after, last = self._rest
        try:
            records = [r for r in self._log.read(after=after, limit=min(self.chunk, last - after))
                       if r.position <= last]
        except LogError as exc:
            self._fail(str(exc))
            return PollResult(False, False, self.problem)
        if not records:
            self._rest = None      # the log lost them (replaced): nothing more to fold
            return PollResult(False, False, self.problem)
        self.state.fold_rest(records)
        self._rest = None if records[-1].position >= last else (records[-1].position, last)
        return PollResult(True, True, self.problem)

    def sync_wants(self) -> bool:
        """Hand the state what the views in front want; returns whether it changed."""
        state = self.state
        if (self.sky_site, self.feasibility) == (state.sky_site, state.feasibility_wanted):
            return False
        state.sky_site, state.feasibility_wanted = self.sky_site, self.feasibility
        return True

    def snapshot(self) -> Any:
        """What the views show now (:meth:`ConsoleState.snapshot`)."""
        return self.state.snapshot()

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
            self._rest = None
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
