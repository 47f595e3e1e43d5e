"""The catalogue of OpenAstro's event types, one module per domain.

Every type subclasses :class:`control_center.eventlog.envelope.LogEvent`.
Plugins may define their own event types the same way.
"""

from control_center.events.alert import AlertReceived, AlertRejected, AlertRetracted
from control_center.events.decision import (
    AssignmentChosen,
    CandidatesProposed,
    CandidatesRejected,
    CandidatesScored,
    DecisionTriggered,
    NoAssignment,
)
from control_center.events.model import (
    ModelDeployed,
    ModelPromoted,
    ModelRejected,
    ModelStale,
    ModelTrained,
    RetrainingProposed,
)
from control_center.events.night import NightEnded, NightStarted
from control_center.events.observation import (
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    ObservationRequested,
    TransientDetected,
)
from control_center.events.override import (
    AlertAcknowledged,
    AssignmentVetoed,
    ObservationRated,
    PriorityChanged,
    TargetForced,
    TelescopePaused,
    TelescopeResumed,
)
from control_center.events.photometry import (
    CalibrationDriftDetected,
    FramePhotometryMeasured,
    LightCurveAlert,
    SiteCalibrationFitted,
)
from control_center.events.plugin import PluginFailed
from control_center.events.site import (
    FrameAnalyzed,
    ObservationCommandSent,
    SiteConditionsChanged,
    SiteHealthChanged,
)

__all__ = [
    "AlertAcknowledged",
    "AlertReceived",
    "AlertRejected",
    "AlertRetracted",
    "AssignmentChosen",
    "AssignmentVetoed",
    "CalibrationDriftDetected",
    "CandidatesProposed",
    "CandidatesRejected",
    "CandidatesScored",
    "DecisionTriggered",
    "FrameAnalyzed",
    "FramePhotometryMeasured",
    "LightCurveAlert",
    "ModelDeployed",
    "ModelPromoted",
    "ModelRejected",
    "ModelStale",
    "ModelTrained",
    "NightEnded",
    "NightStarted",
    "NoAssignment",
    "ObservationAssigned",
    "ObservationCommandSent",
    "ObservationCompleted",
    "ObservationFailed",
    "ObservationRated",
    "ObservationRequested",
    "PluginFailed",
    "PriorityChanged",
    "RetrainingProposed",
    "SiteCalibrationFitted",
    "SiteConditionsChanged",
    "SiteHealthChanged",
    "TargetForced",
    "TelescopePaused",
    "TelescopeResumed",
    "TransientDetected",
]
