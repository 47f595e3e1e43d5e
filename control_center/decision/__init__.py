"""The decision loop: trigger -> propose -> filter -> score -> choose -> assign."""

from control_center.decision.loop import Decision, DecisionLoop

__all__ = ["Decision", "DecisionLoop"]
