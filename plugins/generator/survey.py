"""Survey fields on a HEALPix grid, chosen by coverage, priority regions, conditions and yield."""


class SurveyFields:
    """Work in progress (decision-pipeline issue)."""
