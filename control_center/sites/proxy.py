"""A loopback TCP relay that can cut a link: network partitions for tests and benchmarks.

The client connects to the relay, the relay to the node. :meth:`LinkCutter.cut`
drops every open connection and refuses new ones (accepted, then closed at
once) until :meth:`LinkCutter.restore`: what a control center sees when a
site's network goes down, while the node itself keeps running. TLS passes
through untouched (the relay listens on 127.0.0.1, which the site certificate
names).
"""

from __future__ import annotations

import socket
import threading

__all__ = ["LinkCutter"]


class LinkCutter:
    """Relay ``127.0.0.1:<port>`` to ``target`` (``HOST:PORT``), with a switch.

    Examples
    --------
    >>> relay = LinkCutter("127.0.0.1:50061").start()   # doctest: +SKIP
    >>> relay.address                                   # doctest: +SKIP
    '127.0.0.1:41234'
    """

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._up = True
        self._closed = False
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> LinkCutter:
        threading.Thread(target=self._accept, daemon=True, name="link-cutter").start()
        return self

    @property
    def up(self) -> bool:
        return self._up

    def cut(self) -> None:
        """Drop every connection; refuse new ones until :meth:`restore`."""
        self._up = False
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            _close(c)

    def restore(self) -> None:
        self._up = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._conns |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns -= {src, dst}
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
