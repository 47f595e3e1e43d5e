"""Run plugin calls on reusable worker threads, each with a time limit.

A call that runs past its limit is abandoned, not killed (Python cannot kill a
thread): its worker keeps running it, and the call's key (the plugin name) is
*busy* until it returns, so the caller can skip that plugin instead of piling
up more stuck threads. Workers are daemon threads: a plugin that never returns
does not keep the process alive at exit.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from queue import SimpleQueue
from typing import Literal, NamedTuple

__all__ = ["Outcome", "WorkerPool"]


class Outcome(NamedTuple):
    """How one call ended.

    ``status`` is ``"ok"`` (``value`` is the return value), ``"raised"``
    (``value`` is the exception), ``"timeout"`` (``value`` is None) or
    ``"busy"`` (the key's earlier call is still running; ``value`` is the label
    that call was started with).
    """

    status: Literal["ok", "raised", "timeout", "busy"]
    value: object


class _Job:
    __slots__ = ("abandoned", "args", "done", "error", "finished", "function", "key",
                 "kwargs", "value")

    def __init__(self, key: str, function: Callable[..., object], args: Sequence[object],
                 kwargs: Mapping[str, object] | None) -> None:
        self.key = key
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.value: object = None
        self.error: BaseException | None = None
        self.finished = False
        self.abandoned = False
        self.done = threading.Lock()
        self.done.acquire()


class WorkerPool:
    """A small pool of daemon threads that run calls with a timeout.

    Parameters
    ----------
    max_idle : int
        Idle workers kept for reuse; more are started when calls overlap
        (re-entrant or concurrent callers) and stop once idle beyond this.
    name : str
        Prefix of the worker threads' names.

    Notes
    -----
    Idle workers are reused last-in first-out, so sequential calls usually
    run on the same thread.
    """

    def __init__(self, max_idle: int = 4, name: str = "openastro-plugin") -> None:
        self._lock = threading.Lock()
        self._idle: list[SimpleQueue[_Job | None]] = []
        self._busy: dict[str, str] = {}
        self._max_idle = max_idle
        self._name = name
        self._numbers = itertools.count(1)
        self._closed = False

    def busy(self, key: str) -> str | None:
        """Label of ``key``'s abandoned call that is still running, else None."""
        return self._busy.get(key)

    def run(self, key: str, label: str, function: Callable[..., object],
            args: Sequence[object], kwargs: Mapping[str, object] | None,
            timeout: float) -> Outcome:
        """Call ``function(*args, **kwargs)`` on a worker, waiting at most ``timeout`` s.

        Parameters
        ----------
        key : str
            Who the call belongs to; a key whose earlier call timed out and has
            not returned yet is not called again (``Outcome("busy", label)``).
        label : str
            What the call is, remembered while it is abandoned.
        function, args, kwargs
            The call.
        timeout : float
            Seconds to wait for the result.
        """
        running = self._busy.get(key)
        if running is not None:
            return Outcome("busy", running)
        job = _Job(key, function, args, kwargs)
        self._take_worker().put(job)
        if not job.done.acquire(timeout=timeout):
            with self._lock:
                if not job.finished:
                    job.abandoned = True
                    self._busy[key] = label
                    return Outcome("timeout", None)
            job.done.acquire()  # finished just now: its worker releases at once
        if job.error is not None:
            return Outcome("raised", job.error)
        return Outcome("ok", job.value)

    def close(self) -> None:
        """Stop the idle workers; busy ones stop when their call returns."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for inbox in idle:
            inbox.put(None)

    def _take_worker(self) -> SimpleQueue[_Job | None]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._closed:
                raise RuntimeError("the plugin worker pool is closed")
        inbox: SimpleQueue[_Job | None] = SimpleQueue()
        thread = threading.Thread(target=self._serve, args=(inbox,), daemon=True,
                                  name=f"{self._name}-{next(self._numbers)}")
        thread.start()
        return inbox

    def _serve(self, inbox: SimpleQueue[_Job | None]) -> None:
        while True:
            job = inbox.get()
            if job is None:
                return
            try:
                if job.kwargs:
                    job.value = job.function(*job.args, **job.kwargs)
                else:
                    job.value = job.function(*job.args)
            except BaseException as exc:  # noqa: BLE001 - reported to the caller
                job.error = exc
            with self._lock:
                job.finished = True
                if job.abandoned:
                    self._busy.pop(job.key, None)
                    job.value = job.error = None  # nobody will read them
                keep = not self._closed and len(self._idle) < self._max_idle
                if keep:
                    # Idle again *before* the caller wakes: its next call reuses us.
                    self._idle.append(inbox)
            job.done.release()
            if not keep:
                return
