"""The learned policy (``learned-policy``): the PPO-trained network on onnxruntime.

Answers ``openastro_choose`` when the run's policy is ``learned-policy``: the
shipped policy (``models/scheduler/policy-v1.onnx``) attends over the feasible
candidates and their scores, with a recurrent memory kept per telescope
through the night, and the highest-scoring candidate is chosen (deterministic).
"""

from plugins.learned_policy.policy import NAME, LearnedPolicy

__all__ = ["NAME", "LearnedPolicy"]
