"""The value network as the scorer (``value-network``).

Scores feasible candidates with the shipped deep ensemble
(``models/scheduler/value-v1.onnx``, onnxruntime): expected science value and its
1-sigma uncertainty, averaged over weather scenarios drawn around the site's
conditions and their recent trend. Answers ``openastro_score`` when the run's
scorer is ``value-network``.
"""

from plugins.value_network.scorer import NAME, ValueNetworkScorer, weather_scenarios

__all__ = ["NAME", "ValueNetworkScorer", "weather_scenarios"]
