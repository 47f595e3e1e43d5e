"""From a site node's result to a ``FramePhotometryMeasured`` event.

The node's edge pipeline puts its photometry (:func:`site_node.edge.photometry.
measure_photometry`) under ``photometry`` in the frame analysis it reports; the
whole result travels in ``FrameAnalysis.extras``. :func:`frame_photometry_fields`
reads it back into the event's fields. A frame whose analysis has no photometry
(an older node, or a failed stage) still gives an event, with ``status``
``not-measured`` and the reason: nothing recorded is lost.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

__all__ = ["frame_photometry_fields", "photometry_fields"]


def frame_photometry_fields(result: Any, assigned: Any) -> dict[str, Any]:
    """Keyword arguments of a ``FramePhotometryMeasured`` for a node's ``ObservationResult``.

    Parameters
    ----------
    result : ObservationResult
        The node's result (with a frame).
    assigned : ObservationAssigned
        The assignment it answers (target, request, filter).
    """
    extras: dict[str, Any] = {}
    if result.HasField("analysis") and result.analysis.HasField("extras"):
        extras = json_format.MessageToDict(result.analysis.extras)
    analysis = result.analysis if result.HasField("analysis") else None
    fwhm = analysis.fwhm_arcsec if analysis is not None and analysis.HasField("fwhm_arcsec") \
        else None
    phot = extras.get("photometry")
    if not isinstance(phot, dict):
        failed = [str(w) for w in extras.get("warnings") or ()
                  if str(w).startswith("photometry not measured")]
        if analysis is not None and analysis.error:
            why = [f"edge pipeline failed: {analysis.error}"]
        else:
            why = failed or ["the site's edge pipeline reported no photometry"]
        phot = {"status": "not-measured", "reasons": why}
    return photometry_fields(phot, observation_id=result.observation_id,
                             request_id=assigned.request_id, target=assigned.target,
                             site=result.site, telescope=result.telescope,
                             filter=assigned.filter, fwhm_arcsec=fwhm, source="frame")


def photometry_fields(phot: dict[str, Any], *, observation_id: str, request_id: str,
                      target: str, site: str, telescope: str, filter: str,
                      fwhm_arcsec: float | None, source: str) -> dict[str, Any]:
    """Event fields from a :meth:`FramePhotometry.to_dict`-like dict."""
    stars = phot.get("stars") or {}
    return {
        "observation_id": observation_id, "request_id": request_id, "target": target,
        "site": site, "telescope": telescope, "filter": phot.get("filter") or filter,
        "time_mjd": _num(phot.get("time_mjd")), "airmass": _num(phot.get("airmass")),
        "exptime": _num(phot.get("exptime")), "fwhm_arcsec": _num(fwhm_arcsec),
        "status": str(phot.get("status") or "not-measured"),
        "measurement": dict(phot.get("target") or {}),
        "stars": {k: list(v) for k, v in stars.items()},
        "n_matched": int(phot.get("n_matched") or 0),
        "reasons": [str(r) for r in phot.get("reasons") or []], "source": source,
    }


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
