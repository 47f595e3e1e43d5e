"""One connection to an INDI server: indipyclient on a private event loop in a thread.

indipyclient is asyncio-based and not thread-safe, so an :class:`IndiLink` owns
an event loop in a background thread, runs the client there, and every access
to the client's devices happens on that loop: callers hand coroutines to
:meth:`IndiLink.run`, which blocks until they finish or time out. Inside those
coroutines the ``vector``/``number``/``switch``/``state`` readers, :meth:`send`
and :meth:`wait_for` may be used freely.

A link does not reconnect by itself: when the server goes away (end of the TCP
stream, a write error or indipyclient's own timers) it is marked
:attr:`IndiLink.lost`, every waiter wakes with :class:`LinkLost` within about
0.1 s, and the owner opens a new link when it wants to try again.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from site_node.backends.base import InstrumentError

__all__ = ["Blob", "IndiLink", "LinkLost"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_WATCH_PERIOD_S = 0.1


class LinkLost(InstrumentError):
    """The INDI server went away; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Blob:
    """One BLOB member received from a device (``seq`` orders events on the link)."""

    device: str
    vector: str
    member: str
    data: bytes
    format: str
    seq: int


def _client_class():
    """indipyclient's client, subclassed to feed events and a watchdog into a link."""
    from indipyclient import IPyClient

    class _Client(IPyClient):
        def __init__(self, link: IndiLink) -> None:
            super().__init__(indihost=link.host, indiport=link.port)
            self._link = link

        async def rxevent(self, event: Any) -> None:
            self._link._on_event(event)

        async def hardware(self) -> None:
            await self._link._watch(self)

    return _Client


class IndiLink:
    """A connection to the INDI server at ``host:port`` (see the module docstring).

    Parameters
    ----------
    host, port : str, int
        The server.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.lost: str | None = None
        self.closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._task: asyncio.Task | None = None
        self._tick: asyncio.Event | None = None
        self._seq = 0
        self._states: dict[tuple[str, str], collections.deque] = {}
        self._blobs: collections.deque[Blob] = collections.deque(maxlen=2)
        self._messages: dict[str, collections.deque[str]] = {}

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def alive(self) -> bool:
        """Open and not lost."""
        return self._thread is not None and self._thread.is_alive() and self.lost is None

    # ------------------------------------------------------------------ thread side
    def open(self, timeout: float) -> None:
        """Connect (blocking up to ``timeout`` s).

        Raises
        ------
        InstrumentError
            If nothing accepts a TCP connection at ``host:port``.
        """
        try:
            socket.create_connection((self.host, self.port), timeout=timeout).close()
        except OSError as exc:
            raise InstrumentError(f"cannot reach INDI server {self.address}: {exc}") from None
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(ready,), daemon=True,
                                        name=f"indi-{self.address}")
        self._thread.start()
        ready.wait(timeout)
        self.run(self.wait_for(lambda: self._client.connected, timeout), timeout + 1.0,
                 what=f"connecting to INDI server {self.address}")

    def _thread_main(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        self._tick = asyncio.Event()
        self._client = _client_class()(self)
        self._task = loop.create_task(self._client.asyncrun())
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def run(self, coro: Awaitable[T], timeout: float, *, what: str = "INDI request") -> T:
        """Run ``coro`` on the link's loop and return its result.

        Raises
        ------
        InstrumentError
            If the link is closed, or ``coro`` takes longer than ``timeout``
            (it is then cancelled); exceptions of ``coro`` propagate.
        """
        loop = self._loop
        if loop is None or self._thread is None or not self._thread.is_alive():
            if asyncio.iscoroutine(coro):
                coro.close()
            raise InstrumentError(f"not connected to INDI server {self.address}")
        future = asyncio.run_coroutine_threadsafe(coro, loop)  # type: ignore[arg-type]
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise InstrumentError(f"{what} on {self.address} timed out after {timeout:.0f} s") \
                from None

    def close(self, timeout: float = 5.0) -> None:
        """Disconnect and stop the thread; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self.closing = True
        if thread.is_alive():
            try:
                self.run(self._stop(timeout), timeout + 1.0, what="closing")
            except InstrumentError:
                pass
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        self.lost = self.lost or f"connection to INDI server {self.address} closed"
        self._thread = None
        self._loop = None

    async def _stop(self, timeout: float) -> None:
        if self.lost is None:
            self.lost = f"connection to INDI server {self.address} closed"
        self._client.shutdown()
        self._notify()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except Exception:  # noqa: BLE001 - a timeout or a failure: stop regardless
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # ------------------------------------------------------------------ loop side
    def _notify(self) -> None:
        if self._tick is not None:
            self._tick.set()
            self._tick = asyncio.Event()

    def _lose(self, reason: str) -> None:
        if self.lost is None:
            self.lost = reason
            log.warning("%s", reason)
        if self._client is not None:
            self._client.shutdown()
        self._notify()

    async def _watch(self, client: Any) -> None:
        """Notice the end of the server's stream (indipyclient alone would wait ~20 s)."""
        seen = False
        while not client.stop:
            await asyncio.sleep(_WATCH_PERIOD_S)
            reader = getattr(client, "_reader", None)
            if client.connected:
                seen = True
            if seen and (not client.connected or (reader is not None and reader.at_eof())):
                self._lose(f"INDI server {self.address} closed the connection")
                return

    def _on_event(self, event: Any) -> None:
        self._seq += 1
        kind = event.eventtype
        device, vector = event.devicename, event.vectorname
        if kind == "ConnectionLost":
            self._lose(f"INDI server {self.address} closed the connection")
            return
        state = getattr(event, "state", None)
        if device and vector and state:
            self._states.setdefault((device, vector), collections.deque(maxlen=32)).append(
                (self._seq, state))
        if kind == "SetBLOB":
            for member, data in event.items():
                if data:
                    fmt = event.sizeformat.get(member, (0, ""))[1]
                    self._blobs.append(Blob(device, vector, member, data, fmt, self._seq))
        elif kind == "Message" and device and event.message:
            self._messages.setdefault(device, collections.deque(maxlen=8)).append(event.message)
        self._notify()

    def mark(self) -> int:
        """The current event number: later events have larger ``seq``."""
        return self._seq

    def devices(self) -> list[str]:
        """Names of the devices the server has announced."""
        return sorted(name for name, dev in self._client.items() if dev.enable)

    def vector(self, device: str, name: str) -> Any:
        """The live property vector, or None if the device has not defined it."""
        dev = self._client.get(device) if self._client is not None else None
        vec = dev.get(name) if dev is not None else None
        return vec if vec is not None and vec.enable else None

    def state(self, device: str, name: str) -> str | None:
        vec = self.vector(device, name)
        return None if vec is None else vec.state

    def number(self, device: str, name: str, member: str) -> float | None:
        vec = self.vector(device, name)
        if vec is None or member not in vec:
            return None
        try:
            return float(vec.getfloatvalue(member))
        except (TypeError, ValueError):
            return None

    def numbers(self, device: str, name: str) -> dict[str, float]:
        vec = self.vector(device, name)
        out: dict[str, float] = {}
        for member in vec or ():
            value = self.number(device, name, member)
            if value is not None:
                out[member] = value
        return out

    def values(self, device: str, name: str) -> dict[str, str]:
        """Member -> value (switches ``On``/``Off``, lights ``Ok``/``Alert``..., texts)."""
        vec = self.vector(device, name)
        return {} if vec is None else {m: vec[m] for m in vec}

    def switch(self, device: str, name: str, member: str) -> bool | None:
        value = self.values(device, name).get(member)
        return None if value is None else value == "On"

    def server_states_since(self, device: str, name: str, seq: int) -> list[str]:
        """States the server reported for a vector after event ``seq``."""
        return [s for n, s in self._states.get((device, name), ()) if n > seq]

    def blob_since(self, device: str, vector: str, seq: int) -> Blob | None:
        """The first BLOB from ``device.vector`` received after event ``seq``."""
        return next((b for b in self._blobs
                     if b.device == device and b.vector == vector and b.seq > seq), None)

    def drop_blobs(self) -> None:
        """Forget the BLOBs received so far (frames can be large)."""
        self._blobs.clear()

    def last_message(self, device: str) -> str:
        messages = self._messages.get(device)
        return messages[-1] if messages else ""

    async def send(self, device: str, name: str, members: Mapping[str, Any]) -> None:
        """Send new values for a property.

        Raises
        ------
        LinkLost
            If the server has gone away.
        InstrumentError
            If the device has no such property.
        """
        if self.lost:
            raise LinkLost(self.lost)
        if self.vector(device, name) is None:
            raise InstrumentError(f"INDI device {device!r} has no property {name}")
        await self._client.send_newVector(device, name, members=dict(members))

    async def enable_blobs(self, device: str, vector: str | None = None) -> None:
        """Ask the server to send ``device``'s BLOBs on this connection."""
        await self._client.send_enableBLOB("Also", device, vector)

    async def wait_for(self, predicate: Callable[[], T], timeout: float) -> T:
        """Wait until ``predicate()`` is truthy and return it.

        ``predicate`` runs on the loop after every event (and at least every
        0.5 s) and may raise to stop the wait.

        Raises
        ------
        LinkLost
            If the server goes away first.
        TimeoutError
            If ``timeout`` s pass first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if self.lost:
                raise LinkLost(self.lost)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            tick = self._tick
            assert tick is not None
            try:
                await asyncio.wait_for(tick.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    def wake(self) -> None:
        """Re-run the predicates of every waiter (call from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._notify)
