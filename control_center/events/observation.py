"""Events of observation requests and observations."""

from __future__ import annotations

from datetime import datetime

from control_center.eventlog.envelope import LogEvent


class ObservationRequested(LogEvent):
    """A request joins the queue (from a program, a generator or an alert).

    ``not_before`` / ``not_after`` bound when it may be observed (None: unbounded).
    """

    class_version = 2

    request_id: str
    program: str
    kind: str
    target: str
    ra_deg: float
    dec_deg: float
    filters: list
    exposure_s: float
    priority: float
    repeats: int
    not_before: datetime | None
    not_after: datetime | None

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["not_before"] = None
        state["not_after"] = None


class ObservationAssigned(LogEvent):
    """A candidate was assigned to a telescope; the command goes to the site."""

    observation_id: str
    request_id: str
    site: str
    telescope: str
    target: str
    ra_deg: float
    dec_deg: float
    filter: str
    exposure_s: float
    expected_start: datetime
    expected_end: datetime
    expected_value: float


class ObservationCompleted(LogEvent):
    """An observation finished with usable data."""

    observation_id: str
    request_id: str
    site: str
    telescope: str
    filter: str
    started: datetime
    ended: datetime
    snr: float
    seeing_arcsec: float
    airmass: float
    science_value: float


class ObservationFailed(LogEvent):
    """An observation ended without usable data (clouds, low signal, fault)."""

    observation_id: str
    request_id: str
    site: str
    telescope: str
    filter: str
    started: datetime
    ended: datetime
    reason: str


class TransientDetected(LogEvent):
    """A source that is not in the reference sky was found in an observation.

    Recorded in the same batch as the observation's completion, one event per
    detection. ``detector`` says who found it:

    ``edge``
        the edge pipeline of a site node, on the frame it took: a candidate of
        the difference image against the field's reference that the
        real/bogus model kept (``score`` is its probability of being real;
        None when the hand-written cuts decided, without a model). ``frame``
        is the SHA-256 of the stored FITS file; ``x_px``/``y_px`` its position
        on that frame.
    ``simulated``
        an in-process simulated site (no frame rendered): the sky's
        transients in the field, each detected or not from its brightness
        against the exposure's limiting magnitude, with seeded measurement
        noise (``score``, ``frame``, ``x_px``, ``y_px`` empty).
    ``simulator``
        logs written before version 2 (the simulator's truth, for any site).

    Version 2 added ``score``, ``frame``, ``x_px`` and ``y_px`` (empty by default,
    so producers of version 1 events still work).
    """

    class_version = 2

    observation_id: str
    site: str
    telescope: str
    filter: str
    ra_deg: float
    dec_deg: float
    mag: float
    snr: float
    detector: str
    score: float | None = None
    frame: str = ""
    x_px: float | None = None
    y_px: float | None = None

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["score"] = None
        state["frame"] = ""
        state["x_px"] = None
        state["y_px"] = None
