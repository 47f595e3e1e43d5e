"""Replaying a recorded night from its log alone: :class:`ReplayFollower`.

An auditor's console (``openastro ui --replay``) shows, at any log position
of the night, what the live console showed there: the same
:class:`~control_center.ui.model.state.ConsoleState` folds, fed with the log
up to that position. Going forward folds the next records; going back
restores the nearest cached fold (a copy taken every :attr:`spacing` events
while folding) and folds forward from it, or folds again from the night's
start.

The playback clock is simulated time: each tick (one poll, nominally
``tick_s`` seconds apart) advances it by ``speed x tick_s``, or advances a
number of events in events-per-second mode. No wall clock is read: a slow
fold makes the playback slower than nominal, never different.
"""

from __future__ import annotations

import copy
import threading
from array import array
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from control_center.eventlog import LogError
from control_center.ui.model.follower import LogFollower, PollResult
from control_center.ui.model.state import ConsoleState
from control_center.ui.model.tail_fold import tail_from_log
from control_center.ui.model.views import ConsoleSnapshot

__all__ = ["EVENT_RATES", "SIM_SPEEDS", "ReplayFollower", "ReplayStatus", "parse_jump_time"]

SIM_SPEEDS = (1.0, 10.0, 100.0, 1000.0, 10000.0)
"""Playback speeds in simulated seconds per nominal second."""
EVENT_RATES = (1.0, 10.0, 100.0, 1000.0)
"""Playback speeds in events per nominal second."""
INDEX_CHUNK = 20_000
"""Records indexed per poll while the replay loads (the status shows the progress)."""
FOLD_CHUNK = 20_000
"""Records read per query while folding forward."""
MAX_CHECKPOINTS = 24
"""Cached folds kept (memory stays bounded however long the night)."""
MIN_SPACING = 250
"""Fewest events between two cached folds."""


@dataclass(frozen=True)
class ReplayStatus:
    """Where the replay stands (shown on the status line)."""

    index: int
    """Events of the night folded (0: none; ``total``: the whole night)."""
    total: int
    position: int
    """Log position of the newest event folded (0 before the first)."""
    clock: datetime | None
    """The playback clock (simulated time)."""
    playing: bool
    speed: str
    """``100x`` (simulated time) or ``10 ev/s``."""
    loading: bool = False
    """Still indexing the night (``total`` grows)."""

    @property
    def at_end(self) -> bool:
        return not self.loading and self.index >= self.total


class ReplayFollower(LogFollower):
    """Folds a recorded night up to a chosen position, under the auditor's control.

    Commands (:meth:`toggle_play`, :meth:`step`, :meth:`seek_index`,
    :meth:`seek_time`, :meth:`seek_decision`, :meth:`faster`,
    :meth:`slower`, :meth:`toggle_mode`) may come from any thread; the next
    :meth:`poll` (in the console's worker) applies them.

    Parameters
    ----------
    url : str
        The log.
    tick_s : float
        Nominal seconds between two polls (the console's poll interval).
    spacing : int, optional
        Events between two cached folds (default: the night's length / 24, at
        least :data:`MIN_SPACING`).
    opener : callable, optional
        As for :class:`LogFollower`.
    """

    def __init__(self, url: str, *, tick_s: float = 0.1, spacing: int | None = None,
                 opener: Any = None) -> None:
        super().__init__(url, opener=opener)
        self.tick_s = tick_s
        self._spacing = spacing
        self._lock = threading.Lock()
        self._positions = array("q")
        self._times = array("d")
        """Running maximum of the events' simulated times (epoch seconds): monotone."""
        self._decisions: dict[str, int] = {}
        """Decision id -> index of its last event seen (trigger, then outcome)."""
        self._night_after = 0
        self._indexed = False
        self._last_outcome: str | None = None
        self._index = 0
        self._target: int | None = None
        self._clock: float | None = None
        self._playing = False
        self._mode = "sim"
        self._speed = {"sim": 2, "events": 1}
        """Index into :data:`SIM_SPEEDS` / :data:`EVENT_RATES` per mode."""
        self._carry = 0.0
        self._checkpoints: dict[int, ConsoleState] = {}
        self._shown: ReplayStatus | None = None

    # -- commands (any thread) ----------------------------------------------------------

    def toggle_play(self) -> bool:
        """Play or pause; returns True when now playing."""
        with self._lock:
            if not self._playing and self._index >= len(self._positions) and self._indexed:
                return False       # at the end: nothing to play
            self._playing = not self._playing
            self._carry = 0.0
            return self._playing

    def pause(self) -> None:
        with self._lock:
            self._playing = False

    def step(self, events: int) -> None:
        """Pause and move ``events`` events forward (negative: back)."""
        with self._lock:
            self._playing = False
            base = self._target if self._target is not None else self._index
            self._target = self._clamp(base + events)
            self._clock = None

    def seek_index(self, index: int) -> None:
        """Show the night up to its ``index``-th event (1: the ``NightStarted``)."""
        with self._lock:
            self._target = self._clamp(index)
            self._clock = None

    def seek_time(self, when: datetime) -> int:
        """Show every event up to simulated time ``when``; returns the index reached."""
        with self._lock:
            index = bisect_right(self._times, when.timestamp())
            self._target = self._clamp(index)
            self._clock = when.timestamp()
            return self._target

    def seek_decision(self, text: str) -> str | None:
        """Show the night up to the end of the decision whose id is or starts with
        ``text``; returns its full id, or None (``LookupError`` when several match)."""
        wanted = text.strip().lower()
        with self._lock:
            if wanted in self._decisions:
                found = [wanted]
            else:
                found = [d for d in self._decisions if d.startswith(wanted)] if wanted else []
            if len(found) > 1:
                raise LookupError(f"{len(found)} decisions start with {text.strip()!r}: "
                                  f"give more of the id")
            if not found:
                return None
            self._playing = False
            self._target = self._clamp(self._decisions[found[0]])
            self._clock = None
            return found[0]

    def faster(self) -> str:
        return self._change_speed(+1)

    def slower(self) -> str:
        return self._change_speed(-1)

    def toggle_mode(self) -> str:
        """Switch between simulated-time speeds and events per second."""
        with self._lock:
            self._mode = "events" if self._mode == "sim" else "sim"
            self._carry = 0.0
            return self._speed_text()

    def _change_speed(self, delta: int) -> str:
        with self._lock:
            speeds = SIM_SPEEDS if self._mode == "sim" else EVENT_RATES
            self._speed[self._mode] = max(0, min(len(speeds) - 1, self._speed[self._mode] + delta))
            return self._speed_text()

    def _speed_text(self) -> str:
        if self._mode == "sim":
            return f"{SIM_SPEEDS[self._speed['sim']]:g}x"
        return f"{EVENT_RATES[self._speed['events']]:g} ev/s"

    def _clamp(self, index: int) -> int:
        return max(0, min(index, len(self._positions)))

    # -- what the worker calls ----------------------------------------------------------

    @property
    def status(self) -> ReplayStatus:
        with self._lock:
            return self._status()

    def _status(self) -> ReplayStatus:
        clock = self._clock
        if clock is None and self._index:
            clock = self._times[self._index - 1]
        return ReplayStatus(
            index=self._index, total=len(self._positions),
            position=self._positions[self._index - 1] if self._index else 0,
            clock=None if clock is None else datetime.fromtimestamp(clock, UTC),
            playing=self._playing, speed=self._speed_text(), loading=not self._indexed)

    def snapshot(self) -> ConsoleSnapshot:
        return replace(self.state.snapshot(), replay=self.status)

    def poll(self) -> PollResult:
        """Index the night (a chunk per poll), apply the commands, fold to the target."""
        changed = False
        if self._log is None and not self._open():
            return PollResult(False, False, self.problem)
        try:
            if not self._started:
                self._start()
                self._night_after = self.state.position
                changed = True
            if not self._indexed:
                self._index_some()
                if not self._indexed:
                    return PollResult(True, True, self.problem)
                if self._index == 0 and self._target is None:
                    self.seek_index(1)     # the night's first event: NightStarted
            with self._lock:
                target = self._next_target()
            if target is not None and target != self._index:
                self._fold_to(target)
                changed = True
            wanted = self.tail_filter
            if wanted != self.state.tail.filter:
                self.state.tail.replace(wanted, tail_from_log(
                    self._log, wanted, self.state.tail.keep, before=self.state.position + 1))
                changed = True
        except LogError as exc:
            self._fail(str(exc))
            return PollResult(changed, False, self.problem)
        if self.sync_wants():
            changed = True
        if self.problem is not None:
            self.problem = None
            changed = True
        status = self.status
        if status != self._shown:
            self._shown = status
            changed = True
        return PollResult(changed, False, self.problem)

    def _next_target(self) -> int | None:
        """The index to show after this tick (with the lock held)."""
        total = len(self._positions)
        if self._target is not None:
            target, self._target = self._target, None
            return target
        if not self._playing:
            return None
        if self._mode == "events":
            self._carry += EVENT_RATES[self._speed["events"]] * self.tick_s
            steps = int(self._carry)
            self._carry -= steps
            target = min(total, self._index + steps)
            self._clock = None
        else:
            if self._clock is None:
                self._clock = self._times[self._index - 1] if self._index else (
                    self._times[0] if total else 0.0)
            self._clock += SIM_SPEEDS[self._speed["sim"]] * self.tick_s
            target = bisect_right(self._times, self._clock, lo=self._index)
        if target >= total:
            self._playing = False
            self._clock = None
        return target

    # -- indexing ------------------------------------------------------------------------

    def _index_some(self) -> None:
        from control_center.events import DecisionTriggered, ObservationAssigned
        from control_center.ui.model.decisions_fold import DECISION_TYPES

        after = self._positions[-1] if self._positions else self._night_after
        count = 0
        last = self._times[-1] if self._times else float("-inf")
        positions, times, decisions = [], [], {}
        for recorded in self._log.read(after=after, limit=INDEX_CHUNK):
            count += 1
            when = recorded.sim_time
            if isinstance(when, datetime):
                last = max(last, when.timestamp())
            positions.append(recorded.position)
            times.append(last if last != float("-inf") else 0.0)
            cls = recorded.event_type
            if cls in DECISION_TYPES:
                try:
                    decision = str(recorded.event.originator_id)
                except LogError:
                    continue
                decisions[decision] = len(self._positions) + len(positions)
                self._last_outcome = decision if cls is not DecisionTriggered else None
            elif cls is ObservationAssigned and self._last_outcome is not None:
                # the assignment a decision made is recorded with it: show them together
                decisions[self._last_outcome] = len(self._positions) + len(positions)
                self._last_outcome = None
            else:
                self._last_outcome = None
        with self._lock:
            self._positions.extend(positions)
            self._times.extend(times)
            self._decisions.update(decisions)
            if count < INDEX_CHUNK:
                self._indexed = True

    # -- folding -------------------------------------------------------------------------

    @property
    def spacing(self) -> int:
        if self._spacing is not None:
            return self._spacing
        return max(MIN_SPACING, len(self._positions) // MAX_CHECKPOINTS)

    def _fold_to(self, target: int) -> None:
        if target < self._index:
            self._restore(target)
        while self._index < target:
            stop = min(target, (self._index // self.spacing + 1) * self.spacing,
                       self._index + FOLD_CHUNK)
            after = self._positions[self._index - 1] if self._index else self._night_after
            records = list(self._log.read(after=after, limit=stop - self._index))
            if not records:     # the log lost events we indexed: stop here
                break
            self.state.fold(records)
            with self._lock:
                self._index += len(records)
            if self._index % self.spacing == 0 and self._index not in self._checkpoints:
                self._checkpoint()

    def _restore(self, target: int) -> None:
        below = [i for i in self._checkpoints if i <= target]
        if below:
            state = copy.deepcopy(self._checkpoints[max(below)])
            index = max(below)
        else:
            state = ConsoleState(self.state.log_url, tail_keep=self.state.tail.keep,
                                 decisions_keep=self.state.decisions.keep)
            state.position = self._night_after
            index = 0
        state.sky_site = self.state.sky_site
        state.feasibility_wanted = self.state.feasibility_wanted
        self.state = state    # a tail of another filter is refilled by the poll
        with self._lock:
            self._index = index

    def _checkpoint(self) -> None:
        if len(self._checkpoints) >= MAX_CHECKPOINTS:
            # keep the spread: drop the one closest to its neighbours
            keys = sorted(self._checkpoints)
            gaps = [(keys[i + 1] - keys[i - 1], keys[i]) for i in range(1, len(keys) - 1)]
            drop = min(gaps)[1] if gaps else keys[0]
            del self._checkpoints[drop]
        saved = copy.copy(self.state)
        saved._cache = {}
        self._checkpoints[self._index] = copy.deepcopy(saved)


def parse_jump_time(text: str, start: datetime, end: datetime) -> datetime:
    """The simulated time an auditor typed: ``HH:MM[:SS]`` (UTC, within the night
    ``start``-``end``, which may span midnight) or an ISO date and time.

    Raises
    ------
    ValueError
        With a one-line message naming what is wrong.
    """
    text = text.strip()
    if not text:
        raise ValueError("give a time: HH:MM, HH:MM:SS or an ISO date and time")
    if "T" in text or "-" in text[1:]:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date and time: {text!r}") from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    parts = text.split(":")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"not a time (HH:MM or HH:MM:SS): {text!r}") from None
    if len(numbers) not in (2, 3) or not (0 <= numbers[0] < 24 and 0 <= numbers[1] < 60
                                          and (len(numbers) == 2 or 0 <= numbers[2] < 60)):
        raise ValueError(f"not a time (HH:MM or HH:MM:SS): {text!r}")
    h, m, s = (numbers + [0])[:3]
    start = start.astimezone(UTC)
    for day in range(-1, (end - start).days + 2):
        when = (start + timedelta(days=day)).replace(hour=h, minute=m, second=s, microsecond=0)
        if start <= when <= end:
            return when
    raise ValueError(f"{text} UTC is not within the night "
                     f"({start:%Y-%m-%d %H:%M}-{end.astimezone(UTC):%H:%M} UTC)")
