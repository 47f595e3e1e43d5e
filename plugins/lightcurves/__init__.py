"""Light-curve driven work: calibrations on drift, follow-ups on variability and new sources.

The ``lightcurves`` plugin (:class:`~plugins.lightcurves.plugin.LightCurveWork`)
reads the photometry chain's events (``CalibrationDriftDetected``,
``LightCurveAlert``) and proposes observations through the generator hook:
a standard-field calibration for the drifting site's telescopes, and
follow-ups of the target whose fused light curve varies or shows a new source.
Public API only.
"""

from plugins.lightcurves.plugin import LightCurvePolicy, LightCurveWork

__all__ = ["LightCurvePolicy", "LightCurveWork"]
