"""Photometry in the control center: site calibration, calibrated and fused light curves.

Modules: :mod:`.calibrate` (per site, band and night, from matched stars),
:mod:`.fuse` (inverse-variance GLS and learned fusion across sites),
:mod:`.detect` (variability and new transients), :mod:`.drift` (calibration
drift), :mod:`.reactor` (turns frame measurements into calibration, drift and
light-curve events during a night), :mod:`.ingest` (site-node results to
events), :mod:`.evaluate` (against the simulator's truth).
"""
