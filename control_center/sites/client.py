"""The control center's client of one site node.

:class:`SiteNodeClient` wraps every RPC of ``openastro.v1.SiteNode`` with a
deadline, the site's bearer token, TLS (the CA given), and a
:class:`~control_center.sites.health.LinkHealth` that every call feeds.
:class:`ResultFollower` streams results in a background thread, reconnecting
with exponential backoff, and hands each one over exactly once in order.

Example
-------
>>> client = SiteNodeClient("127.0.0.1:50061", ca="certs/ca.pem",
...                         token_file="certs/la-palma.token")      # doctest: +SKIP
>>> client.check().status == pb.CheckResponse.SERVING_STATUS_SERVING  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import grpc

from control_center.clock import Clock
from control_center.plugin_api.types import Conditions
from control_center.sites.health import Backoff, LinkHealth
from site_node.auth import bearer_metadata, read_token
from site_node.backends.base import ObservationCommand
from site_node.messages import command_to_pb, conditions_from_pb, from_timestamp, pb, timestamp

__all__ = ["LINK_FAILURES", "MAX_MESSAGE_BYTES", "CallStream", "Heartbeat", "ResultFollower",
           "SiteNodeClient"]

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
"""What the client accepts and sends; the node enforces its own (smaller) limit."""

LINK_FAILURES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                           grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
                           grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAUTHENTICATED})
"""Status codes that mean the link (not the request) is at fault."""


class SiteNodeClient:
    """Every RPC of one site node, with deadlines, token and health tracking.

    Parameters
    ----------
    address : str
        ``HOST:PORT`` of the node.
    ca : path, optional
        CA certificate (PEM) the node's certificate must chain to. Required
        unless ``insecure``.
    token, token_file : optional
        The site's bearer token, or the file holding it.
    deadline_s : float
        Deadline of each unary call.
    insecure : bool
        Plain TCP (tests only).
    health : LinkHealth, optional
        Health state fed by every call (one is made when omitted).
    on_health_change : callable, optional
        ``(old, new, reason)``, used when ``health`` is omitted.
    clock : Clock, optional
        For the health state's silence timer.
    """

    def __init__(self, address: str, *, ca: str | Path | None = None, token: str | None = None,
                 token_file: str | Path | None = None, deadline_s: float = 10.0,
                 insecure: bool = False, health: LinkHealth | None = None,
                 on_health_change: Callable[[str, str, str], None] | None = None,
                 clock: Clock | None = None) -> None:
        from protos.openastro.v1.site_node_pb2_grpc import SiteNodeStub

        if token is None and token_file is not None:
            token = read_token(token_file)
        self.address, self.deadline_s = address, deadline_s
        self._metadata = bearer_metadata(token)
        self.health = health or LinkHealth(address, on_change=on_health_change, clock=clock)
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.initial_reconnect_backoff_ms", 200),
                   ("grpc.min_reconnect_backoff_ms", 200),
                   ("grpc.max_reconnect_backoff_ms", 2000),
                   ("grpc.keepalive_time_ms", 20_000),
                   ("grpc.keepalive_timeout_ms", 10_000)]
        if insecure:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            if ca is None:
                raise ValueError("a CA certificate is required for TLS (or insecure=True)")
            creds = grpc.ssl_channel_credentials(root_certificates=Path(ca).read_bytes())
            self._channel = grpc.secure_channel(address, creds, options=options)
        self.stub = SiteNodeStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------

    def _unary(self, method: str, request: Any, timeout: float | None = None) -> Any:
        try:
            response = getattr(self.stub, method)(request, timeout=timeout or self.deadline_s,
                                                  metadata=self._metadata)
        except grpc.RpcError as exc:
            self.report(exc)
            raise
        self.health.success()
        return response

    def report(self, exc: grpc.RpcError) -> None:
        """Feed a failed call to the health state (request errors mean the link works)."""
        code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
        if code in LINK_FAILURES:
            self.health.failure(f"{code.name}: {exc.details() if hasattr(exc, 'details') else exc}")
        else:
            self.health.success()

    def _stream(self, method: str, request: Any, timeout: float | None) -> CallStream:
        call = getattr(self.stub, method)(request, timeout=timeout, metadata=self._metadata)
        return CallStream(self, call)

    # -- the RPCs ------------------------------------------------------------------------

    def check(self, timeout: float | None = None) -> pb.CheckResponse:
        response = self._unary("Check", pb.CheckRequest(), timeout)
        if response.status != pb.CheckResponse.SERVING_STATUS_SERVING:
            self.health.success(healthy=False, reason=response.message or "not serving")
        return response

    def status(self) -> pb.SiteStatus:
        response = self._unary("GetStatus", pb.GetStatusRequest())
        if response.health not in (pb.HEALTH_OK, pb.HEALTH_UNSPECIFIED):
            self.health.success(healthy=False, reason="; ".join(response.messages[-1:])
                                or pb.Health.Name(response.health))
        return response

    def telemetry(self, *, interval_s: float = 1.0, sim_time: datetime | None = None,
                  max_messages: int = 0, timeout: float | None = None) -> CallStream:
        """Telemetry messages; finite streams get a deadline scaled to their length."""
        request = pb.StreamTelemetryRequest(interval_s=interval_s, max_messages=max_messages)
        if sim_time is not None:
            request.sim_time.CopyFrom(timestamp(sim_time))
        if timeout is None and max_messages:
            timeout = self.deadline_s + max_messages * interval_s
        return self._stream("StreamTelemetry", request, timeout or 3600.0)

    def condition_timeline(self, start: datetime, end: datetime, *,
                           min_interval_s: float = 600.0) -> list[tuple[datetime, Conditions]]:
        """When the site's simulated conditions change in a span (pins the span)."""
        request = pb.GetConditionTimelineRequest(min_interval_s=min_interval_s)
        request.start.CopyFrom(timestamp(start))
        request.end.CopyFrom(timestamp(end))
        response = self._unary("GetConditionTimeline", request,
                               max(self.deadline_s, 60.0))
        return [(from_timestamp(c.time), conditions_from_pb(c.conditions))
                for c in response.changes]

    def submit(self, command: ObservationCommand | pb.ObservationCommand,
               ) -> pb.SubmitObservationResponse:
        """Queue an observation (idempotent by ``observation_id``: safe to retry)."""
        message = command if isinstance(command, pb.ObservationCommand) \
            else command_to_pb(command)
        return self._unary("SubmitObservation", pb.SubmitObservationRequest(command=message))

    def cancel(self, observation_id: str) -> pb.CancelObservationResponse:
        return self._unary("CancelObservation",
                           pb.CancelObservationRequest(observation_id=observation_id))

    def results(self, after_seq: int = 0, *, include_fits: bool = False,
                observation_id: str = "", stop_when_caught_up: bool = False,
                timeout: float | None = None) -> CallStream:
        """Results with a sequence above ``after_seq``, in order (a following stream
        ends at ``timeout``, default one hour: reconnect then)."""
        request = pb.StreamResultsRequest(after_seq=after_seq, include_fits=include_fits,
                                          observation_id=observation_id,
                                          stop_when_caught_up=stop_when_caught_up)
        if timeout is None:
            timeout = self.deadline_s * 6 if stop_when_caught_up else 3600.0
        return self._stream("StreamResults", request, timeout)

    def ack(self, up_to_seq: int) -> pb.AckResultsResponse:
        return self._unary("AckResults", pb.AckResultsRequest(up_to_seq=up_to_seq))

    def frame(self, observation_id: str) -> bytes:
        """The FITS bytes of an observation (NOT_FOUND if it has none)."""
        response = self._unary("GetFrame", pb.GetFrameRequest(observation_id=observation_id),
                               max(self.deadline_s, 60.0))
        return response.fits

    def deploy_model(self, name: str, version: str, onnx: bytes, *,
                     sha256: str | None = None) -> pb.DeployModelResponse:
        """Push a model; ``sha256`` defaults to the bytes' own hash."""
        request = pb.DeployModelRequest(name=name, version=version, onnx=onnx,
                                        sha256=sha256 or hashlib.sha256(onnx).hexdigest())
        return self._unary("DeployModel", request, max(self.deadline_s, 120.0))

    def wait_ready(self, timeout_s: float = 30.0, *, backoff: Backoff | None = None,
                   sleep: Callable[[float], None] = time.sleep) -> pb.CheckResponse:
        """Call Check until the node serves (backoff between tries); TimeoutError after
        ``timeout_s`` of trying."""
        backoff = backoff or Backoff(base_s=0.05, max_s=1.0)
        spent, last = 0.0, "no answer"
        while True:
            try:
                response = self.check(timeout=min(self.deadline_s, 5.0))
                if response.status == pb.CheckResponse.SERVING_STATUS_SERVING:
                    return response
                last = response.message or "not serving"
            except grpc.RpcError as exc:
                last = f"{exc.code().name}: {exc.details()}"
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                    raise
            if spent >= timeout_s:
                raise TimeoutError(f"site node {self.address} not ready after "
                                   f"{timeout_s:g} s ({last})")
            delay = backoff.next_delay()
            sleep(delay)
            spent += delay


class CallStream:
    """A server stream: iterate it for the messages; :meth:`cancel` it from any thread."""

    def __init__(self, client: SiteNodeClient, call: Any) -> None:
        self._client, self._call = client, call
        self.cancelled = False

    def __iter__(self) -> Iterator[Any]:
        try:
            for message in self._call:
                self._client.health.success()
                yield message
        except grpc.RpcError as exc:
            if not self.cancelled:
                self._client.report(exc)
            raise

    def cancel(self) -> None:
        self.cancelled = True
        self._call.cancel()


class ResultFollower:
    """Follow a node's results in a thread; each result is handed over once, in order.

    ``handler(result)`` must persist the result (idempotently by observation id);
    once it returns, the follower advances ``last_seq`` and acknowledges it so the
    node may prune. After a broken stream the follower waits (exponential backoff
    with jitter) and resumes after ``last_seq``.

    Parameters
    ----------
    client : SiteNodeClient
    handler : callable
        ``handler(result: pb.ObservationResult)``.
    after_seq : int
        The last sequence already persisted by the caller.
    include_fits, ack : bool
    backoff : Backoff, optional
    """

    def __init__(self, client: SiteNodeClient, handler: Callable[[pb.ObservationResult], None],
                 *, after_seq: int = 0, include_fits: bool = False, ack: bool = True,
                 backoff: Backoff | None = None) -> None:
        self.client, self.handler = client, handler
        self.last_seq = after_seq
        self.include_fits, self.ack = include_fits, ack
        self.backoff = backoff or Backoff()
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream: Any = None

    def start(self) -> ResultFollower:
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"results-{self.client.address}")
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._stream = self.client.results(self.last_seq,
                                                   include_fits=self.include_fits)
                for result in self._stream:
                    if result.seq <= self.last_seq:
                        continue
                    self.handler(result)
                    self.last_seq = result.seq
                    self.backoff.reset()
                    if self.ack:
                        self._ack()
            except grpc.RpcError:
                pass  # the client fed the health state; wait and reconnect
            if self._stop.is_set():
                break
            self.reconnects += 1
            self._stop.wait(self.backoff.next_delay())

    def _ack(self) -> None:
        try:
            self.client.ack(self.last_seq)
        except grpc.RpcError:
            pass  # acknowledged with the next result or after reconnecting


class Heartbeat:
    """Call ``Check`` every ``interval_s`` in a thread and tick the health state.

    Keeps a site's health current when nothing else is said on the link: a node
    that stops answering goes degraded, then offline (and online again when it
    answers), each change reaching ``on_health_change``.
    """

    def __init__(self, client: SiteNodeClient, interval_s: float = 5.0) -> None:
        self.client, self.interval_s = client, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"heartbeat-{client.address}")

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.check(timeout=min(self.client.deadline_s, self.interval_s))
            except grpc.RpcError:
                pass  # already fed to the health state
            self.client.health.tick()
            self._stop.wait(self.interval_s)
