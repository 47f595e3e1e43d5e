"""Events of the photometry chain: frame measurements, site calibrations, drift, light curves.

The chain (see ``docs/photometry.md``): a site node measures each frame
(:class:`FramePhotometryMeasured`, recorded with the observation's result); the
control center fits each site's calibration per band and night from the matched
stars (:class:`SiteCalibrationFitted`), notices when a site drifts
(:class:`CalibrationDriftDetected`) and when a target's fused light curve varies
or shows a new source (:class:`LightCurveAlert`). Calibrated and fused light
curves are projections of these events (:mod:`control_center.projections.lightcurves`).
"""

from __future__ import annotations

from control_center.eventlog.envelope import LogEvent

__all__ = ["CalibrationDriftDetected", "FramePhotometryMeasured", "LightCurveAlert",
           "SiteCalibrationFitted"]


class FramePhotometryMeasured(LogEvent):
    """A frame's photometry: the target's instrumental measurement and the matched stars.

    ``status`` is ``ok`` or why the frame gives no calibration (``no-wcs``,
    ``no-stars``, ``no-exptime``, ...). ``target`` holds ``status`` (``ok``,
    ``not-detected``, ``outside-frame``, ``saturated``), ``instrumental_mag``,
    ``instrumental_err``, ``limit_mag``, ``x``, ``y`` (normalised), ``colour`` and
    ``method`` (``aperture`` or ``psf``). ``stars`` holds column lists ``x``,
    ``y``, ``instrumental_mag``, ``instrumental_err``, ``catalogue_mag``,
    ``catalogue_colour``, ``flag`` (bits of :data:`site_node.edge.photometry.FLAGS`).
    ``source`` is ``frame`` (a site node's pixels) or ``catalogue`` (simulated
    without pixels). ``reasons`` lists everything flagged.
    """

    observation_id: str
    request_id: str
    target: str
    site: str
    telescope: str
    filter: str
    time_mjd: float | None
    airmass: float | None
    exptime: float | None
    fwhm_arcsec: float | None
    status: str
    measurement: dict
    stars: dict
    n_matched: int
    reasons: list
    source: str


class SiteCalibrationFitted(LogEvent):
    """A site's photometric calibration for one telescope, band and night, from matched stars.

    ``calibration`` is :meth:`models.calibration.photometric.SiteCalibration.to_dict`
    (zero point, colour term, extinction, flat, drift per day, covariance, residual
    RMS, ...). ``converged`` False means it must not be used (``reason`` says why);
    frames of that site, band and night then stay uncalibrated, flagged.
    """

    site: str
    telescope: str
    band: str
    night: str
    n_frames: int
    n_stars: int
    converged: bool
    reason: str
    calibration: dict


class CalibrationDriftDetected(LogEvent):
    """A site's calibration moved more than its uncertainty allows.

    ``kind`` is ``within-night`` (the fitted drift term over the night so far)
    or ``between-nights`` (this night's zero point against the previous one);
    ``drift_mag`` is the change, ``significance`` in sigma, ``telescope`` the
    telescope of the latest frame (where a calibration observation is due).
    """

    site: str
    telescope: str
    band: str
    night: str
    kind: str
    drift_mag: float
    significance: float
    reason: str


class LightCurveAlert(LogEvent):
    """A target's fused light curve varies, or shows a source not seen before.

    ``kind`` is ``variability`` (chi-square of the fused points about their mean
    improbable, ``statistic`` is the chi-square per degree of freedom) or
    ``new-transient`` (a detection where earlier frames had none, or a jump
    of ``amplitude_mag`` at ``significance`` sigma). ``ra_deg``/``dec_deg`` say
    where to follow up.
    """

    target: str
    band: str
    kind: str
    ra_deg: float
    dec_deg: float
    time_mjd: float
    amplitude_mag: float
    significance: float
    statistic: float
    n_points: int
    sites: list
    reason: str
