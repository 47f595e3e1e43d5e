"""The hand-written value formula (the baseline the value network must beat).

Expected science value = priority x P(success) x quality x efficiency, with an
uncertainty that grows with cloud cover. Answers ``openastro_score`` when the
run's scorer is ``value-formula``.
"""

from plugins.value_formula.formula import expected_value, openastro_score

__all__ = ["expected_value", "openastro_score"]
