"""Greedy policy: take the candidate with the highest expected value now.

The baseline every other policy is measured against. Answers
``openastro_choose`` when the run's policy is ``greedy``.
"""

from plugins.greedy.policy import openastro_choose

__all__ = ["openastro_choose"]
