"""The control center's model services on one log: distribution and shift monitoring.

One object to wire into a run that talks to site nodes::

    with ModelServices(log, {name: client, ...}, store=ModelStore(dir)) as services:
        ...   # the night: promoted models reach the nodes, drifting sites are flagged

It subscribes a :class:`~.distribution.ModelDistributor` (started in a
background thread: gRPC never runs in the log writer's thread) and a
:class:`~.shift.ShiftMonitor` to the log, and unsubscribes and stops them on exit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from control_center.model_registry.distribution import ModelDistributor
from control_center.model_registry.shift import ShiftMonitor
from control_center.model_registry.store import ModelStore
from models.catalogue import Catalogue

__all__ = ["ModelServices"]


class ModelServices:
    """Model distribution and distribution-shift monitoring for one log.

    Parameters
    ----------
    log : EventLog
    clients : mapping of site name to SiteNodeClient
        The site nodes (empty: in-process sites, nothing to push).
    store : ModelStore
        The registry's model store.
    catalogue : Catalogue, optional
    window : int
        Frames per site per shift check.
    retry_s : float
        How often a deployment to an unreachable node is retried.
    """

    def __init__(self, log: Any, clients: Mapping[str, Any], *, store: ModelStore,
                 catalogue: Catalogue | None = None, window: int = 200,
                 retry_s: float = 60.0) -> None:
        catalogue = catalogue or Catalogue()
        self.log = log
        self.distributor = ModelDistributor(log, store, clients, catalogue=catalogue)
        self.monitor = ShiftMonitor(log, store=store, catalogue=catalogue, window=window)
        self.retry_s = retry_s
        self._unsubscribe: list[Any] = []

    def start(self) -> Self:
        self._unsubscribe = [self.log.subscribe(self.monitor.on_recorded)]
        if self.distributor.clients:
            self._unsubscribe.append(self.log.subscribe(self.distributor.on_recorded))
            self.distributor.start(retry_s=self.retry_s)
        return self

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self.distributor.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
