"""The hand-written value formula (the baseline the value network must beat).

Expected science value = priority x P(success) x quality x efficiency, with an
uncertainty that grows with cloud cover; demanding work that another free site
of the network does clearly better is discounted (division of labour, with the
discount's uncertainty in sigma). Answers ``openastro_score`` when the run's
scorer is ``value-formula``.
"""

from plugins.value_formula.formula import expected_value, openastro_score
from plugins.value_formula.labour import DivisionOfLabour, labour_factors, sky_limited_efficiency

__all__ = ["DivisionOfLabour", "expected_value", "labour_factors", "openastro_score",
           "sky_limited_efficiency"]
