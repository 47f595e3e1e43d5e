"""The gRPC face of a site node: ``openastro.v1.SiteNode`` over a :class:`SiteNode`.

Handlers are coroutines on the server's event loop; anything that may block
for long (building a simulated night, reading a frame, loading a model) runs
in a worker thread. Results streams wake up when the queue worker commits a
result (a thread-safe "bell"), and end cleanly when the server shuts down.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import grpc

from control_center import __version__
from protos.openastro.v1 import site_node_pb2_grpc
from site_node.messages import (
    conditions_to_pb,
    from_timestamp,
    pb,
    timestamp,
)
from site_node.models_store import check_model
from site_node.node import CommandRejected, SiteNode
from site_node.outbox import OutboxError

__all__ = ["SiteNodeService"]

_log = logging.getLogger(__name__)
_MAX_SPAN_S = 7 * 86400.0
_STREAM_IDLE_CHECK_S = 2.0


class _Bell:
    """Wakes every waiting results stream; rung from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def _ring(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    def ring_threadsafe(self, *_: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._ring)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass


class SiteNodeService(site_node_pb2_grpc.SiteNodeServicer):
    """Implements every RPC of ``openastro.v1.SiteNode``.

    Parameters
    ----------
    node : SiteNode
        The executing core (queue worker, backend, pipeline, outbox).
    loop : asyncio.AbstractEventLoop
        The server's loop (results streams are woken on it).
    """

    def __init__(self, node: SiteNode, loop: asyncio.AbstractEventLoop) -> None:
        self.node = node
        self.bell = _Bell(loop)
        self.stopping = False
        node.add_listener(self.bell.ring_threadsafe)

    def shutdown(self) -> None:
        """End the results streams (clients reconnect elsewhere or later)."""
        self.stopping = True
        self.bell._ring()

    # -- health and status ---------------------------------------------------------------

    def _health(self) -> int:
        if not self.node.alive:
            return pb.HEALTH_FAILING
        return pb.HEALTH_DEGRADED if self.node.degraded else pb.HEALTH_OK

    async def Check(self, request: pb.CheckRequest, context: Any) -> pb.CheckResponse:
        serving = self.node.alive and not self.stopping
        status = pb.CheckResponse.SERVING_STATUS_SERVING if serving \
            else pb.CheckResponse.SERVING_STATUS_NOT_SERVING
        message = "" if serving else ("shutting down" if self.stopping
                                      else "observation worker stopped")
        return pb.CheckResponse(status=status, site=self.node.site.name, message=message)

    async def GetStatus(self, request: pb.GetStatusRequest, context: Any) -> pb.SiteStatus:
        node, box = self.node, self.node.outbox
        status = pb.SiteStatus(
            site=node.site.name, backend=node.backend_kind,
            software_version=__version__, outbox_depth=box.depth(),
            queue_length=box.queue_length(), health=self._health(),
            messages=list(node.messages), last_seq=box.last_seq(), acked_seq=box.acked_seq(),
            running_observation_id=box.running() or "", pipeline=node.pipeline_name)
        for t in node.site.telescopes:
            status.telescopes.add(name=t.name, aperture_m=t.aperture_m, filters=list(t.filters),
                                  field_of_view_arcmin=t.field_of_view_arcmin,
                                  pixel_scale_arcsec=t.pixel_scale_arcsec)
        for r in node.models.records():
            model = status.models.add(name=r.name, version=r.version, sha256=r.sha256)
            model.deployed.CopyFrom(timestamp(datetime.fromisoformat(r.deployed)))
        in_service = getattr(node.pipeline, "model_id", None)
        if in_service and not any(in_service.startswith(f"{m.name}@") for m in status.models):
            name, _, sha = str(in_service).partition("@")
            status.models.add(name=name, version="shipped", sha256=sha)
        latest = getattr(node.backend, "latest_time", None)
        if latest is not None:
            status.sim_time.CopyFrom(timestamp(latest))
        return status

    # -- telemetry and conditions --------------------------------------------------------

    def _telemetry(self, when: datetime | None, sequence: int) -> pb.Telemetry:
        t = self.node.backend.telemetry(when)
        message = pb.Telemetry(site=self.node.site.name, sequence=sequence,
                               conditions=conditions_to_pb(t.conditions),
                               health=self._health() if t.healthy else pb.HEALTH_DEGRADED,
                               messages=list(t.messages),
                               queue_length=self.node.outbox.queue_length(),
                               outbox_depth=self.node.outbox.depth())
        message.time.CopyFrom(timestamp(t.time))
        for name, m in t.mount.items():
            mount = message.mounts.add(telescope=name, tracking=m.tracking, slewing=m.slewing,
                                       parked=m.parked)
            for key in ("ra_deg", "dec_deg", "alt_deg", "az_deg"):
                if getattr(m, key) is not None:
                    setattr(mount, key, getattr(m, key))
        for name, c in t.camera.items():
            camera = message.cameras.add(telescope=name, state=c.state, filter=c.filter or "")
            if c.temperature_c is not None:
                camera.temperature_c = c.temperature_c
        return message

    async def StreamTelemetry(self, request: pb.StreamTelemetryRequest,
                              context: Any) -> AsyncIterator[pb.Telemetry]:
        if request.interval_s < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "interval_s must be >= 0")
        when = from_timestamp(request.sim_time) if request.HasField("sim_time") else None
        # The first message may build a simulated night: off the event loop.
        yield await asyncio.to_thread(self._telemetry, when, 1)
        sequence = 1
        while not self.stopping and (not request.max_messages
                                     or sequence < request.max_messages):
            if request.interval_s > 0:
                await asyncio.sleep(request.interval_s)
            sequence += 1
            yield self._telemetry(when, sequence)

    async def GetConditionTimeline(self, request: pb.GetConditionTimelineRequest,
                                   context: Any) -> pb.ConditionTimeline:
        timeline = getattr(self.node.backend, "condition_timeline", None)
        if timeline is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED,
                                f"backend {self.node.backend.name!r} has no simulated timeline")
        if not (request.HasField("start") and request.HasField("end")):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "start and end are required")
        start, end = from_timestamp(request.start), from_timestamp(request.end)
        span = (end - start).total_seconds()
        if not 0 < span <= _MAX_SPAN_S:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"span must be positive and at most 7 days, got {span:.0f} s")
        changes = await asyncio.to_thread(timeline, start, end, request.min_interval_s or 600.0)
        out = pb.ConditionTimeline()
        for when, conditions in changes:
            change = out.changes.add(conditions=conditions_to_pb(conditions))
            change.time.CopyFrom(timestamp(when))
        return out

    # -- observations --------------------------------------------------------------------

    async def SubmitObservation(self, request: pb.SubmitObservationRequest,
                                context: Any) -> pb.SubmitObservationResponse:
        if not request.HasField("command"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "command is required")
        try:
            s = self.node.submit(request.command)
        except CommandRejected as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except OutboxError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return pb.SubmitObservationResponse(accepted=s.accepted, duplicate=s.duplicate,
                                            state=s.state, queue_position=max(s.position, 0))

    async def CancelObservation(self, request: pb.CancelObservationRequest,
                                context: Any) -> pb.CancelObservationResponse:
        cancelled, state = await asyncio.to_thread(self.node.cancel, request.observation_id)
        if state == "unknown":
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"no observation {request.observation_id!r}")
        return pb.CancelObservationResponse(cancelled=cancelled, state=state)

    async def StreamResults(self, request: pb.StreamResultsRequest,
                            context: Any) -> AsyncIterator[pb.ObservationResult]:
        after = request.after_seq
        while not self.stopping:
            bell = self.bell.current()
            rows = self.node.outbox.pending(after, limit=100,
                                            observation_id=request.observation_id or None)
            for row in rows:
                message = pb.ObservationResult.FromString(row.body)
                message.seq = row.seq
                if request.include_fits and message.has_frame:
                    message.fits = await asyncio.to_thread(self._read_frame, row.observation_id)
                yield message
                after = row.seq
            if rows:
                continue
            if request.stop_when_caught_up:
                return
            try:
                await asyncio.wait_for(bell.wait(), _STREAM_IDLE_CHECK_S)
            except TimeoutError:
                pass

    async def AckResults(self, request: pb.AckResultsRequest,
                         context: Any) -> pb.AckResultsResponse:
        acked = self.node.outbox.ack(request.up_to_seq)
        return pb.AckResultsResponse(acked_seq=acked, outbox_depth=self.node.outbox.depth())

    def _read_frame(self, observation_id: str) -> bytes:
        path = self.node.frame_path(observation_id)
        return path.read_bytes() if path.is_file() else b""

    async def GetFrame(self, request: pb.GetFrameRequest, context: Any) -> pb.GetFrameResponse:
        data = b""
        if request.observation_id and "/" not in request.observation_id:
            data = await asyncio.to_thread(self._read_frame, request.observation_id)
        if not data:
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"no frame for observation {request.observation_id!r}")
        return pb.GetFrameResponse(observation_id=request.observation_id, fits=data,
                                   sha256=hashlib.sha256(data).hexdigest())

    # -- models --------------------------------------------------------------------------

    async def DeployModel(self, request: pb.DeployModelRequest,
                          context: Any) -> pb.DeployModelResponse:
        try:
            sha = check_model(request.name, request.onnx, request.sha256)
            await asyncio.to_thread(self.node.pipeline.deploy_model, request.name,
                                    request.onnx, sha)
        except Exception as exc:  # noqa: BLE001 - any refusal of the pipeline is the model's
            _log.warning("model refused: %s", exc)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"model rejected: {exc}")
        deployed = self.node.clock.now()
        record = await asyncio.to_thread(self.node.models.save, request.name, request.version,
                                         sha, request.onnx, deployed.isoformat())
        _log.info("model %s %s deployed (%s)", record.name, record.version, sha[:12])
        model = pb.ModelInfo(name=record.name, version=record.version, sha256=sha)
        model.deployed.CopyFrom(timestamp(deployed))
        return pb.DeployModelResponse(deployed=True, model=model,
                                      message=f"{record.name} {record.version} in service")
