"""Datasets for training our models: from the simulator and from an event log.

- :mod:`models.datasets.log_frames`: every analysed frame of a log (the
  ``FrameAnalyzed`` measures) with the observers' ratings (``ObservationRated``)
  as labels: the training data of ``openastro train NAME --from-log``;
- :mod:`models.datasets.sim_frames`: simulator frames as FITS files with a
  manifest, normal or with labelled anomalies (``openastro dataset frames``).

:data:`LOG_BUILDERS` maps the names a train module may give in ``LOG_DATASET``
to the function building that dataset from recorded events.
"""

from __future__ import annotations

from models.datasets.log_frames import FEATURES, LogFrames, build_log_frames

__all__ = ["FEATURES", "LOG_BUILDERS", "LogFrames", "build_log_frames"]

LOG_BUILDERS = {"frames": build_log_frames}
