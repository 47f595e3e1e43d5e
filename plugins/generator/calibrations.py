"""Calibrations when data quality calls for them: flats, darks, focus, pointing, standards."""


class CalibrationPlanner:
    """Work in progress (decision-pipeline issue)."""
