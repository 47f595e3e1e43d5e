"""What a site found in an observation, as the fields of ``TransientDetected`` events.

Two sources, one shape (a dict per detection with ``ra_deg``, ``dec_deg``,
``mag``, ``snr``, ``detector``, ``score``, ``frame``, ``x_px``, ``y_px``):

* :func:`edge_detections`: a site node's edge pipeline ran difference imaging
  on the frame it took and the real/bogus model kept these candidates
  (``detector="edge"``). Nothing of the simulator's truth is used.
* :func:`simulated_detections`: an in-process simulated site renders no frame;
  the simulator decides which of the sky's transients in the field an exposure
  of that depth detects (:meth:`simulator.transients.TransientSky.detections`:
  a transient's measured SNR, from its magnitude against the exposure's
  limiting magnitude plus seeded noise, must reach 5), ``detector="simulated"``.

:func:`transient_detected_fields` turns one detection into the event's fields,
and drops a detection at the observed target itself when the observation is
not a follow-up: a programme star that varies shows up in the difference image
against its reference, but it is the target, whose variability the photometry
chain measures (``FramePhotometryMeasured``, ``LightCurveAlert``), not a new
source. A follow-up looks at a transient on purpose: its detections at the
target are re-detections and are all kept. (A science target's nuclear
transient within :data:`TARGET_RADIUS_ARCSEC` of its centre is missed.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["TARGET_RADIUS_ARCSEC", "edge_detections", "simulated_detections",
           "transient_detected_fields"]

TARGET_RADIUS_ARCSEC = 2.0
"""A detection this close to the target of an observation that is not a follow-up is the
target, not a transient."""


def edge_detections(result: Any) -> tuple[dict[str, Any], ...]:
    """The vetted transient candidates a site node reported for its frame.

    Parameters
    ----------
    result : ObservationResult
        The node's result message; candidates are read from its
        ``analysis.transients`` (only frames the pipeline analysed have any).

    Returns
    -------
    tuple of dict
        One per candidate with a calibrated magnitude, in the node's order
        (decreasing SNR). ``score`` is the real/bogus probability (None when the
        hand-written cuts kept it, without a model).
    """
    if not result.HasField("analysis") or not result.analysis.ok:
        return ()
    frame = result.frame_sha256 if result.has_frame else ""
    out = []
    for c in result.analysis.transients:
        if not c.HasField("mag") or not all(math.isfinite(v) for v in
                                            (c.ra_deg, c.dec_deg, c.mag, c.snr)):
            continue   # no zero point: no magnitude to record
        out.append({"ra_deg": c.ra_deg, "dec_deg": c.dec_deg, "mag": c.mag, "snr": c.snr,
                    "detector": "edge", "score": c.score if c.vetted else None,
                    "frame": frame, "x_px": c.x, "y_px": c.y})
    return tuple(out)


def simulated_detections(found: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The simulator's detections of an in-process site, labelled ``detector="simulated"``.

    ``found`` are :attr:`simulator.site.Observation.detections` (they also carry
    the truth: ``name``, ``kind``, ``true_mag``, which the log does not record).
    """
    return tuple({"ra_deg": float(d["ra_deg"]), "dec_deg": float(d["dec_deg"]),
                  "mag": float(d["mag"]), "snr": float(d["snr"]), "detector": "simulated",
                  "score": None, "frame": "", "x_px": None, "y_px": None} for d in found)


def _separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    c = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c)))) * 3600.0


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def transient_detected_fields(found: Mapping[str, Any], *, observation_id: str, site: str,
                              telescope: str, filter: str, target_ra_deg: float | None = None,
                              target_dec_deg: float | None = None, followup: bool = False,
                              ) -> dict[str, Any] | None:
    """Keyword arguments of a ``TransientDetected`` event for one detection.

    None when the detection lies within :data:`TARGET_RADIUS_ARCSEC` of the
    observation's target (given by ``target_ra_deg``/``target_dec_deg``) and
    the observation is not a ``followup``.
    A detection without ``detector`` is from a pre-version-2 source: ``simulator``.
    """
    ra, dec = float(found["ra_deg"]), float(found["dec_deg"])
    if not followup and target_ra_deg is not None and target_dec_deg is not None and \
            _separation_arcsec(ra, dec, target_ra_deg, target_dec_deg) < TARGET_RADIUS_ARCSEC:
        return None
    return {"observation_id": observation_id, "site": site, "telescope": telescope,
            "filter": filter, "ra_deg": round(ra, 7), "dec_deg": round(dec, 7),
            "mag": round(float(found["mag"]), 3), "snr": round(float(found["snr"]), 2),
            "detector": str(found.get("detector", "simulator")),
            "score": _rounded(found.get("score"), 4), "frame": str(found.get("frame", "")),
            "x_px": _rounded(found.get("x_px"), 2), "y_px": _rounded(found.get("y_px"), 2)}
