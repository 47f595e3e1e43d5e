"""Clocks: the only place in OpenAstro that may read the time.

Every component receives a :class:`Clock` instead of calling ``datetime.now``,
so a simulated night runs in seconds and replays identically.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FixedClock", "RealClock", "SimulatedClock"]


@runtime_checkable
class Clock(Protocol):
    """Source of the current time (timezone-aware, UTC)."""

    def now(self) -> datetime:
        """Return the current time as a timezone-aware UTC ``datetime``."""
        ...


class RealClock:
    """Wall-clock time from the operating system."""

    def now(self) -> datetime:
        return datetime.now(tz=UTC)

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        return time.monotonic()


class SimulatedClock:
    """A clock that only moves when told to.

    Parameters
    ----------
    start : datetime
        Initial time; must be timezone-aware.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> clock = SimulatedClock(datetime(2026, 3, 21, 18, tzinfo=UTC))
    >>> clock.advance(90).isoformat()
    '2026-03-21T18:01:30+00:00'
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move forward by ``seconds`` (never backwards) and return the new time."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if step < timedelta(0):
            raise ValueError("a clock cannot run backwards")
        self._now += step
        return self._now

    def advance_to(self, when: datetime) -> datetime:
        """Jump to ``when`` if it lies in the future; return the current time."""
        if when > self._now:
            self._now = when.astimezone(UTC)
        return self._now


class FixedClock:
    """A clock stopped at one instant (for tests and reproducible output)."""

    def __init__(self, when: datetime) -> None:
        self._when = when

    def now(self) -> datetime:
        return self._when
