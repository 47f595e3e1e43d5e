"""Auditing a log: explain one decision, replay every decision and compare."""

from control_center.audit.explain import (
    DecisionNotFound,
    Explanation,
    explain_decision,
    find_decision,
    format_explanation,
)
from control_center.audit.replay import Mismatch, ReplayReport, replay_log

__all__ = ["DecisionNotFound", "Explanation", "Mismatch", "ReplayReport", "explain_decision",
           "find_decision", "format_explanation", "replay_log"]
