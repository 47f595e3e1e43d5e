"""The node's core: a queue worker that executes observations one after another.

Each queued command (from the durable :class:`~site_node.outbox.Outbox`) goes
through the instrument backend; the frame, if any, is written to
``data_dir/frames/<observation_id>.fits`` and analysed by the edge pipeline;
then the result is committed to the outbox, and only then are listeners (the
results streams) told. The worker never waits for a control center: with no
one connected, results simply accumulate in the outbox.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from control_center.clock import Clock, RealClock
from control_center.network import Site
from site_node.backends.base import InstrumentBackend, InstrumentError, ObservationCommand
from site_node.messages import analysis_to_pb, command_from_pb, pb, timestamp, truth_to_pb
from site_node.models_store import ModelStore
from site_node.outbox import Outbox, Submission

__all__ = ["CommandRejected", "SiteNode", "validate_command"]

_log = logging.getLogger(__name__)
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class CommandRejected(ValueError):
    """A submitted command is malformed or names something the site does not have."""


def validate_command(site: Site, command: ObservationCommand) -> None:
    """Raise :class:`CommandRejected` naming the first problem of ``command``."""
    import math

    if not _ID.match(command.observation_id):
        raise CommandRejected(f"observation_id {command.observation_id!r}: 1-128 characters "
                              "of letters, digits and ._:-")
    scope = next((t for t in site.telescopes if t.name == command.telescope), None)
    if scope is None:
        raise CommandRejected(f"telescope {command.telescope!r}: not at site {site.name!r} "
                              f"(have {', '.join(t.name for t in site.telescopes)})")
    if command.filter not in scope.filters:
        raise CommandRejected(f"filter {command.filter!r}: telescope {scope.name!r} has "
                              f"{', '.join(scope.filters)}")
    if not (math.isfinite(command.ra_deg) and 0.0 <= command.ra_deg < 360.0):
        raise CommandRejected(f"ra_deg {command.ra_deg}: expected 0 <= RA < 360")
    if not (math.isfinite(command.dec_deg) and -90.0 <= command.dec_deg <= 90.0):
        raise CommandRejected(f"dec_deg {command.dec_deg}: expected -90 <= Dec <= 90")
    if not (math.isfinite(command.exposure_s) and 0.0 < command.exposure_s <= 7200.0):
        raise CommandRejected(f"exposure_s {command.exposure_s}: expected 0 < t <= 7200")
    if not math.isfinite(command.priority):
        raise CommandRejected(f"priority {command.priority}: not a finite number")


class SiteNode:
    """The executing half of a site node (the gRPC service is its front door).

    Parameters
    ----------
    site : Site
    backend : InstrumentBackend
    pipeline : object
        Edge pipeline: ``analyze(hdul)`` returning an object with ``to_dict()``,
        and ``deploy_model(name, onnx_bytes, sha256)``.
    data_dir : Path
        Holds ``outbox.sqlite``, ``frames/`` and ``models/``.
    clock : Clock, optional
        Wall clock for the ``recorded`` stamps.
    backend_kind : str, optional
        What the status reports as the backend (default: the backend's ``name``).
    """

    def __init__(self, site: Site, backend: InstrumentBackend, pipeline: Any, data_dir: Path,
                 *, clock: Clock | None = None, backend_kind: str | None = None,
                 durable: bool = True) -> None:
        self.site, self.backend, self.pipeline = site, backend, pipeline
        self.data_dir = Path(data_dir)
        self.frames_dir = self.data_dir / "frames"
        self.frames_dir.mkdir(parents=True, exist_ok=True)
        self.durable = durable
        self.outbox = Outbox(self.data_dir / "outbox.sqlite", durable=durable)
        self.models = ModelStore(self.data_dir / "models")
        self.clock = clock or RealClock()
        self.backend_kind = backend_kind or str(getattr(backend, "name", "unknown"))
        self.messages: deque[str] = deque(maxlen=20)
        self.degraded = False
        self._listeners: list[Callable[[int], None]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._restore_models()

    @property
    def pipeline_name(self) -> str:
        return str(getattr(self.pipeline, "name", type(self.pipeline).__name__))

    def _restore_models(self) -> None:
        for record in self.models.records():
            try:
                self.pipeline.deploy_model(record.name, self.models.load(record), record.sha256)
            except Exception as exc:  # noqa: BLE001 - a stored model that fails must not stop us
                self._note(f"stored model {record.name!r} not restored: {exc}")

    def _note(self, message: str) -> None:
        _log.warning("%s", message)
        self.messages.append(message)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Connect the backend and start the queue worker."""
        self.backend.connect()
        self._thread = threading.Thread(target=self._run, name=f"observe-{self.site.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the observation in progress (up to ``timeout``), then stop and close."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.backend.close()
        self.outbox.close()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_listener(self, callback: Callable[[int], None]) -> None:
        """``callback(seq)`` runs (in the worker thread) after each result is committed."""
        self._listeners.append(callback)

    # -- commands ------------------------------------------------------------------------

    def submit(self, message: pb.ObservationCommand) -> Submission:
        """Validate and queue a command; a known observation id is a duplicate."""
        validate_command(self.site, command_from_pb(message))
        submission = self.outbox.submit(message.observation_id, message.SerializeToString())
        self._wake.set()
        return submission

    def cancel(self, observation_id: str) -> tuple[bool, str]:
        """Cancel a queued (or, if the backend can, running) observation."""
        state, changed = self.outbox.cancel(observation_id)
        if state is None:
            return False, "unknown"
        if state == "running":
            return self.backend.cancel(observation_id), state
        if not changed:
            return False, state
        result = pb.ObservationResult(observation_id=observation_id, site=self.site.name,
                                      outcome=pb.ObservationOutcome(success=False,
                                                                    reason="cancelled"))
        result.recorded.CopyFrom(timestamp(self.clock.now()))
        self._commit(observation_id, result)
        return True, state

    # -- the worker ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self.outbox.next_command()
            except Exception as exc:  # noqa: BLE001 - outbox unreadable: report, retry slowly
                self._note(f"outbox unreadable: {exc}")
                self.degraded = True
                self._stop.wait(1.0)
                continue
            if item is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self.execute(pb.ObservationCommand.FromString(item[1]))
            except Exception as exc:  # noqa: BLE001 - one observation must not kill the worker
                _log.exception("observation %s failed", item[0])
                self._note(f"observation {item[0]}: {exc}")

    def execute(self, message: pb.ObservationCommand) -> int:
        """Run one command end to end; returns the sequence of its stored result."""
        command = command_from_pb(message)
        result = pb.ObservationResult(observation_id=command.observation_id,
                                      request_id=command.request_id, site=self.site.name,
                                      telescope=command.telescope)
        try:
            exposure = self.backend.observe(command)
        except Exception as exc:  # noqa: BLE001 - a failed exposure is a result, not a crash
            kind = "instrument error" if isinstance(exc, InstrumentError) \
                else f"backend error ({type(exc).__name__})"
            self._note(f"{kind} in {command.observation_id}: {exc}")
            self.degraded = True
            start = command.start or self.clock.now()
            result.outcome.CopyFrom(pb.ObservationOutcome(success=False,
                                                          reason=f"{kind}: {exc}"))
            result.outcome.start.CopyFrom(timestamp(start))
            result.outcome.end.CopyFrom(timestamp(start))
        else:
            self.degraded = False
            outcome = result.outcome
            outcome.start.CopyFrom(timestamp(exposure.start))
            outcome.end.CopyFrom(timestamp(exposure.end))
            outcome.success, outcome.reason = exposure.success, exposure.reason
            if exposure.truth:
                outcome.truth.CopyFrom(truth_to_pb(exposure.truth, exposure.conditions))
            if exposure.frame is not None:
                self._frame(command.observation_id, exposure.frame, result)
        result.recorded.CopyFrom(timestamp(self.clock.now()))
        return self._commit(command.observation_id, result)

    def _frame(self, observation_id: str, hdul: Any, result: pb.ObservationResult) -> None:
        """Write the FITS, then analyse it; failures become the analysis' error."""
        try:
            result.frame_sha256 = _write_fits(self.frame_path(observation_id), hdul,
                                              fsync=self.durable)
            result.has_frame = True
        except Exception as exc:  # noqa: BLE001 - the result is stored without its frame
            self._note(f"frame of {observation_id} not written: {exc}")
        t0 = time.perf_counter()
        try:
            measured = self.pipeline.analyze(hdul).to_dict()
            error = ""
        except Exception as exc:  # noqa: BLE001 - a broken frame is a result, not a crash
            measured, error = {}, f"{type(exc).__name__}: {exc}"
            self._note(f"edge pipeline failed on {observation_id}: {error}")
        result.analysis.CopyFrom(analysis_to_pb(measured, pipeline=self.pipeline_name,
                                                latency_s=time.perf_counter() - t0,
                                                error=error))

    def _commit(self, observation_id: str, result: pb.ObservationResult) -> int:
        seq = self.outbox.store_result(observation_id, result.SerializeToString())
        for callback in list(self._listeners):
            try:
                callback(seq)
            except Exception:  # noqa: BLE001 - a listener's failure is not the observation's
                _log.exception("result listener failed")
        return seq

    def frame_path(self, observation_id: str) -> Path:
        return self.frames_dir / f"{observation_id}.fits"


def _write_fits(path: Path, hdul: Any, *, fsync: bool = True) -> str:
    """Write ``hdul`` atomically (temporary file, fsync, rename); returns its sha256."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        hdul.writeto(f, output_verify="silentfix+ignore")
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    os.replace(tmp, path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
