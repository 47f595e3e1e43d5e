"""Events of the model registry: trained, promoted or rejected versions, their
deployment to the sites, and the trust checks that flag a model stale.

Every event of one model goes to the stream ``stream_id("model", name)``, so a
model's history reads in order with ``log.stream(...)``. The model's ONNX bytes
are not in the log: ``sha256`` names them in the registry's content-addressed
store (:mod:`control_center.model_registry.store`).
"""

from __future__ import annotations

from control_center.eventlog.envelope import LogEvent

__all__ = ["ModelDeployed", "ModelPromoted", "ModelRejected", "ModelStale", "ModelTrained",
           "RetrainingProposed"]


class ModelTrained(LogEvent):
    """A new version of a model was trained (not yet in force).

    ``metrics`` are the train entry point's held-out metrics (its metadata JSON);
    ``promotion_metric`` is ``{"name", "value", "higher_is_better"}``;
    ``training_data`` describes the data: at least ``source`` (``"simulator"``
    or ``"log"``), ``seed`` and ``quick``, plus what the builder reports (for data
    from the log: the positions read, how many frames, how many observers'
    ratings). ``files`` lists the stored files (``.onnx``, ``.json``...) by
    name and SHA-256.
    """

    name: str
    version: str
    sha256: str
    metrics: dict
    promotion_metric: dict
    training_data: dict
    files: dict


class ModelPromoted(LogEvent):
    """A version was put in force: it beat the one in force (``previous``, ``""`` when
    none) on the promotion metric; ``reason`` gives both values."""

    name: str
    version: str
    sha256: str
    previous: str
    previous_sha256: str
    reason: str


class ModelRejected(LogEvent):
    """A trained version was not promoted; ``reason`` says why (e.g. it did not beat
    the version in force, naming both values); ``current`` is that version."""

    name: str
    version: str
    sha256: str
    current: str
    reason: str


class ModelDeployed(LogEvent):
    """The control center pushed a model version to a site node.

    ``ok`` is False when the node could not be reached or refused the model
    (``message`` says why); a later sync retries until one succeeds.
    """

    name: str
    version: str
    sha256: str
    site: str
    ok: bool
    message: str


class ModelStale(LogEvent):
    """A site's recent model inputs no longer look like the model's training data.

    ``statistic`` names the test (``"psi"``: the population stability index of
    the worst feature, against the training quantiles), ``value`` its value,
    ``threshold`` the limit it crossed, ``feature`` the worst feature and ``n``
    how many recent frames were compared.
    """

    name: str
    version: str
    site: str
    statistic: str
    value: float
    threshold: float
    feature: str
    n: int
    details: dict


class RetrainingProposed(LogEvent):
    """The control center proposes to retrain a model (``reason``; ``sites`` where it
    went stale). The retraining job (``openastro retrain``) acts on it."""

    name: str
    version: str
    reason: str
    sites: list
