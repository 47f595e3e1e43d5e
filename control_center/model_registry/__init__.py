"""The model registry: versions of our models recorded in the event log.

- :class:`~.registry.ModelRegistry`: train a model, record ``ModelTrained``, promote
  it (``ModelPromoted``) only if it beats the version in force on held-out data;
- :class:`~.store.ModelStore`: the versions' files by SHA-256;
- :class:`~.projection.ModelsInForce`: versions, the one in force, deployments;
- :class:`~.distribution.ModelDistributor`: pushes promoted models to the site nodes;
- :class:`~.shift.ShiftMonitor`: flags a model stale at a site whose inputs drift;
- :func:`~.retrain.retrain_job`: the scheduled retraining from data in the log.
"""
