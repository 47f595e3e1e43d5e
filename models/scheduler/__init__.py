"""The learned scheduler: environment, value network, policy network, PPO, Bellman check.

Serving (onnxruntime + numpy only): :mod:`models.scheduler.serve`,
:mod:`models.scheduler.features`, :mod:`models.scheduler.decision_features`,
used by the ``value-network`` and ``learned-policy`` plugins. Training
(torch, gymnasium): :mod:`models.scheduler.train`.
"""
