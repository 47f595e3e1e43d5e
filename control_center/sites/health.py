"""How the control center judges a site link: reconnection backoff and health state.

:class:`Backoff`
    Exponential delays with jitter between reconnection attempts (seeded, so a
    test sees one exact schedule).
:class:`LinkHealth`
    The state machine ``online`` / ``degraded`` / ``offline``:

    * a successful call makes the site ``online`` (``degraded`` if the node
      reports itself unhealthy);
    * a failed call makes it ``degraded``; ``offline_after`` consecutive
      failures, or no success for ``silent_after_s`` (see :meth:`LinkHealth.tick`),
      make it ``offline``;
    * every change calls ``on_change(old, new, reason)`` once, which the control
      center turns into a ``SiteHealthChanged`` event.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

from control_center.clock import Clock, RealClock

__all__ = ["DEGRADED", "OFFLINE", "ONLINE", "Backoff", "LinkHealth"]

ONLINE, DEGRADED, OFFLINE = "online", "degraded", "offline"


class Backoff:
    """Exponential backoff with "equal jitter".

    The n-th delay (from 0) is ``d/2 + U(0, d/2)`` with ``d = min(max_s, base_s *
    factor**n)``: never shorter than half the nominal delay, never in lock-step
    with other clients.

    Parameters
    ----------
    base_s, factor, max_s : float
    seed : int, optional
        Seed of the jitter (None: unpredictable).

    Examples
    --------
    >>> b = Backoff(base_s=1.0, factor=2.0, max_s=8.0, seed=1)
    >>> [round(b.next_delay(), 2) for _ in range(5)]
    [0.57, 1.95, 2.4, 4.26, 4.34]
    >>> b.reset(); b.attempts
    0
    """

    def __init__(self, base_s: float = 0.2, factor: float = 2.0, max_s: float = 10.0,
                 seed: int | None = None) -> None:
        if base_s <= 0 or factor < 1 or max_s < base_s:
            raise ValueError("need base_s > 0, factor >= 1 and max_s >= base_s")
        self.base_s, self.factor, self.max_s = base_s, factor, max_s
        self._rng = random.Random(seed)
        self.attempts = 0

    def nominal(self, attempt: int) -> float:
        """The delay before jitter for attempt ``attempt`` (0-based)."""
        return min(self.max_s, self.base_s * self.factor ** min(attempt, 64))

    def next_delay(self) -> float:
        d = self.nominal(self.attempts)
        self.attempts += 1
        return d / 2 + self._rng.uniform(0.0, d / 2)

    def reset(self) -> None:
        """After a success: the next failure starts from ``base_s`` again."""
        self.attempts = 0


class LinkHealth:
    """Health state of one site link.

    Parameters
    ----------
    site : str
    on_change : callable, optional
        ``on_change(old_state, new_state, reason)``.
    offline_after : int
        Consecutive failures that make the site offline.
    silent_after_s : float
        Time without a success after which :meth:`tick` declares it offline.
    clock : Clock, optional
    """

    def __init__(self, site: str, *, on_change: Callable[[str, str, str], None] | None = None,
                 offline_after: int = 3, silent_after_s: float = 30.0,
                 clock: Clock | None = None) -> None:
        self.site = site
        self.on_change = on_change
        self.offline_after, self.silent_after_s = offline_after, silent_after_s
        self.clock = clock or RealClock()
        self.state = OFFLINE
        self.reason = "not yet contacted"
        self.failures = 0
        self._last_ok = self.clock.now()
        self._lock = threading.Lock()

    def _move(self, new: str, reason: str) -> None:
        with self._lock:
            old = self.state
            if new == old:
                return
            self.state, self.reason = new, reason
        if self.on_change is not None:
            self.on_change(old, new, reason)

    def success(self, *, healthy: bool = True, reason: str = "") -> None:
        """A call succeeded; ``healthy`` False when the node reports a problem."""
        self.failures = 0
        self._last_ok = self.clock.now()
        self._move(ONLINE if healthy else DEGRADED, reason or ("answering" if healthy
                                                              else "node reports a problem"))

    def failure(self, reason: str) -> None:
        """A call failed (unreachable, deadline exceeded, stream broken)."""
        self.failures += 1
        if self.failures >= self.offline_after:
            self._move(OFFLINE, f"{self.failures} failures in a row; last: {reason}")
        elif self.state == ONLINE:
            self._move(DEGRADED, reason)

    def tick(self) -> str:
        """Declare the site offline if it has been silent too long; returns the state."""
        silent = (self.clock.now() - self._last_ok).total_seconds()
        if self.state != OFFLINE and silent >= self.silent_after_s:
            self._move(OFFLINE, f"silent for {silent:.0f} s")
        return self.state
