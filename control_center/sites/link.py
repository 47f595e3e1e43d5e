"""The night loop's :class:`~control_center.night.SiteLink` over a site node.

:class:`GrpcSiteLink` turns ``condition_changes()`` into one
``GetConditionTimeline`` call (which pins the node's simulated span to the
night, so a seeded night reproduces the in-process simulation) and
``submit(command)`` into ``SubmitObservation`` and ``result(observation_id)``
into waiting for that observation's result on the results stream (a
:class:`~control_center.sites.client.ResultFollower` that acknowledges what it
received). Submissions are retried with backoff while
the link is down; a resend carries the same observation id, so the node
recognises it as a duplicate and never executes it twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grpc

from control_center.clock import RealClock
from control_center.plugin_api.types import Conditions
from control_center.sites.client import LINK_FAILURES, ResultFollower, SiteNodeClient
from control_center.sites.detections import edge_detections
from control_center.sites.health import Backoff
from site_node.backends.base import ObservationCommand
from site_node.messages import from_timestamp, pb

__all__ = ["GrpcSiteLink", "RemoteObservation", "RemoteOutcome", "SiteUnavailable",
           "analysis_dict", "frame_analyzed_fields", "remote_observation"]


class SiteUnavailable(RuntimeError):
    """The site node did not answer (or return a result) in time."""


@dataclass(frozen=True)
class RemoteOutcome:
    """What the night loop reads of an outcome (simulator truth when present)."""

    success: bool
    snr: float
    seeing_arcsec: float
    airmass: float
    reason: str
    science_value: float
    quality: float = 0.0


@dataclass(frozen=True)
class RemoteObservation:
    """An observation executed by a site node: ``start``, ``end``, ``outcome`` and more."""

    observation_id: str
    seq: int
    start: datetime
    end: datetime
    outcome: RemoteOutcome
    analysis: dict[str, Any] = field(default_factory=dict)
    has_frame: bool = False
    result: Any = None
    """The raw :class:`ObservationResult` message."""
    detections: tuple[dict[str, Any], ...] = ()
    """The transients the node's edge pipeline found and vetted on the frame
    (:func:`~control_center.sites.detections.edge_detections`); never the simulator's truth."""


def remote_observation(result: pb.ObservationResult) -> RemoteObservation:
    """Build a :class:`RemoteObservation` from a streamed result."""
    o = result.outcome
    t = o.truth
    outcome = RemoteOutcome(success=o.success, snr=t.snr, seeing_arcsec=t.seeing_arcsec,
                            airmass=t.airmass, reason=o.reason, science_value=t.science_value,
                            quality=t.quality)
    analysis = analysis_dict(result) if result.HasField("analysis") else {}
    return RemoteObservation(result.observation_id, result.seq, from_timestamp(o.start),
                             from_timestamp(o.end), outcome, analysis, result.has_frame, result,
                             edge_detections(result))


def analysis_dict(result: pb.ObservationResult) -> dict[str, Any]:
    """The frame analysis summary (None where not measured)."""
    a = result.analysis

    def opt(name: str) -> Any:
        return getattr(a, name) if a.HasField(name) else None

    return {"ok": a.ok, "error": a.error, "pipeline": a.pipeline, "sky_level": opt("sky_level"),
            "sky_noise": opt("sky_noise"), "n_sources": opt("n_sources"),
            "fwhm_arcsec": opt("fwhm_arcsec"), "ellipticity": opt("ellipticity"),
            "zero_point": opt("zero_point"), "anomaly_score": opt("anomaly_score"),
            "verdict": a.verdict, "n_transients": len(a.transients),
            "latency_s": a.latency_s}


def frame_analyzed_fields(result: pb.ObservationResult) -> dict[str, Any]:
    """Keyword arguments of a ``FrameAnalyzed`` event for ``result`` (which has a frame)."""
    summary = analysis_dict(result)
    return {"observation_id": result.observation_id, "site": result.site,
            "telescope": result.telescope, "seq": result.seq,
            "pipeline": summary.pop("pipeline"), "error": summary.pop("error"),
            "measures": {k: v for k, v in summary.items() if k != "ok"}}


class GrpcSiteLink:
    """One site reached through its site node.

    Parameters
    ----------
    client : SiteNodeClient
    site : str
        The site's name.
    start, end : datetime
        The night planned (the simulated span pinned on the node).
    timeout_s : float
        How long ``observe`` waits for a result (submission retries included).
    after_seq : int
        Results up to this sequence were already persisted by the control center.
    on_command_sent : callable, optional
        ``(command, SubmitObservationResponse)`` after each accepted submission.
    on_result : callable, optional
        ``(ObservationResult)`` for every result received (follower thread).
    backoff : Backoff, optional
        Between submission retries while the link is down.
    """

    def __init__(self, client: SiteNodeClient, site: str, *, start: datetime, end: datetime,
                 timeout_s: float = 120.0, after_seq: int = 0, min_interval_s: float = 600.0,
                 on_command_sent: Callable[[ObservationCommand, Any], None] | None = None,
                 on_result: Callable[[pb.ObservationResult], None] | None = None,
                 backoff: Backoff | None = None) -> None:
        self.client, self.site, self.start, self.end = client, site, start, end
        self.timeout_s, self.min_interval_s = timeout_s, min_interval_s
        self.on_command_sent, self.on_result = on_command_sent, on_result
        self.backoff = backoff or Backoff(base_s=0.1, max_s=2.0)
        self._arrived: dict[str, RemoteObservation] = {}
        self._cond = threading.Condition()
        self._clock = RealClock()
        self.follower = ResultFollower(client, self._receive, after_seq=after_seq)
        self._started = False

    def close(self) -> None:
        """Stop following results (the client stays open: its owner closes it)."""
        if self._started:
            self.follower.stop()
            self._started = False

    def _receive(self, result: pb.ObservationResult) -> None:
        observation = remote_observation(result)
        if self.on_result is not None:
            self.on_result(result)
        with self._cond:
            self._arrived[result.observation_id] = observation
            self._cond.notify_all()

    # -- SiteLink --------------------------------------------------------------------------

    def condition_changes(self) -> list[tuple[datetime, Conditions]]:
        """The node's simulated conditions timeline for the night (pins its span)."""
        return self.client.condition_timeline(self.start, self.end,
                                              min_interval_s=self.min_interval_s)

    def submit(self, command: ObservationCommand) -> str:
        """Send ``command`` (retrying while the link is down); returns its observation id.

        ``pointing`` is never sent: the node knows where its telescopes point.
        Raises :class:`SiteUnavailable` if it cannot be submitted in ``timeout_s``.
        """
        if not self._started:
            self.follower.start()
            self._started = True
        deadline = self._clock.monotonic() + self.timeout_s
        response = self._submit(command, deadline)
        if self.on_command_sent is not None:
            self.on_command_sent(command, response)
        return command.observation_id

    def result(self, observation_id: str) -> RemoteObservation:
        """Wait for the result of a submitted observation.

        Raises :class:`SiteUnavailable` when none arrives within ``timeout_s``.
        """
        deadline = self._clock.monotonic() + self.timeout_s
        with self._cond:
            while observation_id not in self._arrived:
                left = deadline - self._clock.monotonic()
                if left <= 0:
                    raise SiteUnavailable(f"site {self.site}: no result for observation "
                                          f"{observation_id} after {self.timeout_s:g} s "
                                          f"(link {self.client.health.state})")
                self._cond.wait(min(left, 1.0))
            return self._arrived.pop(observation_id)

    def _submit(self, command: ObservationCommand, deadline: float) -> Any:
        self.backoff.reset()
        while True:
            try:
                return self.client.submit(command)
            except grpc.RpcError as exc:
                if exc.code() not in LINK_FAILURES or exc.code() == \
                        grpc.StatusCode.UNAUTHENTICATED:
                    raise
                delay = self.backoff.next_delay()
                if self._clock.monotonic() + delay > deadline:
                    raise SiteUnavailable(f"site {self.site}: cannot submit "
                                          f"{command.observation_id} ({exc.code().name}: "
                                          f"{exc.details()})") from None
                threading.Event().wait(delay)

