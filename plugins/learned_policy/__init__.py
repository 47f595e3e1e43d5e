"""The learned policy (``learned-policy``): the trained network on onnxruntime.

Answers ``openastro_choose`` when the run's policy is ``learned-policy``: the
newest shipped policy (``models/scheduler/policy-v2.onnx``: imitation of a
look-ahead on the simulator's outcome physics, trained on the real night loop)
attends over the feasible candidates, their scores and their expected value
under the conditions reported now, with a recurrent memory kept per telescope
through the night; the highest-scoring candidate is chosen (deterministic).
"""

from plugins.learned_policy.policy import NAME, LearnedPolicy

__all__ = ["NAME", "LearnedPolicy"]
