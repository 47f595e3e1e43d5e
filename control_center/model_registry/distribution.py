"""Pushing promoted models to the site nodes over gRPC.

:class:`ModelDistributor` listens to the log (``log.subscribe(d.on_recorded)``).
A ``ModelPromoted`` of a model served at the sites, a site node coming back
online (``SiteHealthChanged`` to ``online``) or a night starting schedules a
sync; a sync deploys the version in force to every site whose last recorded
deployment is not that version (``DeployModel``, the node checks the SHA-256
and hot-swaps), and records one ``ModelDeployed`` per site with the outcome. A
node that was unreachable is retried at the next sync, so it gets the model
when it returns. gRPC calls never run in the log writer's thread: either
:meth:`start` a background worker, or call :meth:`sync` yourself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import grpc

from control_center.events import NightStarted, SiteHealthChanged
from control_center.events.model import ModelDeployed, ModelPromoted
from control_center.model_registry.projection import ModelsInForce
from control_center.model_registry.registry import ACTOR, model_stream
from control_center.model_registry.store import ModelStore, StoreError
from models.catalogue import RUNS_AT, Catalogue, CatalogueError

__all__ = ["ModelDistributor"]

_log = logging.getLogger(__name__)


class ModelDistributor:
    """Deploys the models in force to the site nodes and records each outcome.

    Parameters
    ----------
    log : EventLog
        Read for the models in force; ``ModelDeployed`` is recorded here.
    store : ModelStore
        Where the promoted versions' ONNX bytes are.
    clients : mapping of site name to SiteNodeClient
        One client per site node (anything with ``deploy_model(name, version,
        onnx, sha256=...)``).
    catalogue : Catalogue, optional
        Says which models are served at the sites (``runs_at``).
    """

    def __init__(self, log: Any, store: ModelStore, clients: Mapping[str, Any], *,
                 catalogue: Catalogue | None = None) -> None:
        self.log, self.store, self.clients = log, store, dict(clients)
        self.catalogue = catalogue or Catalogue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sync_lock = threading.Lock()
        self._when: datetime | None = None

    # -- which models go to the sites -------------------------------------------------

    def served_at_sites(self, name: str) -> bool:
        try:
            return self.catalogue.get(name).runs_at == "site-node"
        except CatalogueError:
            return RUNS_AT.get(name) == "site-node"

    # -- listening ---------------------------------------------------------------------

    def on_recorded(self, recorded: Any) -> None:
        """Log listener: schedule a sync on a promotion, a node back online, a night start."""
        event = recorded.event
        wanted = (isinstance(event, ModelPromoted) and self.served_at_sites(event.name)) or \
            (isinstance(event, SiteHealthChanged) and event.state == "online"
             and event.site in self.clients) or isinstance(event, NightStarted)
        if wanted:
            self._when = event.sim_time
            self._wake.set()

    # -- deploying ---------------------------------------------------------------------

    def pending(self) -> list[tuple[str, dict[str, Any], str, dict[str, Any]]]:
        """``(model, version in force, site, last deployment at that site or {})`` of every
        deployment still to do."""
        state = ModelsInForce()
        for recorded in self.log.read(types=ModelsInForce.handles):
            state.apply(recorded)
        todo = []
        for name in sorted(state.models):
            current = state.in_force(name)
            if current is None or not self.served_at_sites(name):
                continue
            last = state.models[name]["deployments"]
            for site in state.pending_sites(name, sorted(self.clients)):
                todo.append((name, current, site, last.get(site, {})))
        return todo

    def sync(self, sim_time: datetime | None = None) -> list[ModelDeployed]:
        """Deploy what is pending now; returns the ``ModelDeployed`` events recorded."""
        with self._sync_lock:
            done = []
            for name, current, site, last in self.pending():
                ok, message = self._deploy(name, current, site)
                if not ok and last.get("sha256") == current["sha256"] and \
                        last.get("message") == message:
                    continue    # the same failure again: recorded already
                when = sim_time or self._when or self.log.clock.now()
                with self.log.batch(actor=ACTOR, sim_time=when) as batch:
                    done.append(batch.add(ModelDeployed, stream=model_stream(name), name=name,
                                          version=current["version"],
                                          sha256=current["sha256"], site=site, ok=ok,
                                          message=message))
                _log.info("model %s %s -> %s: %s", name, current["version"], site, message)
            return done

    def _deploy(self, name: str, current: dict[str, Any], site: str) -> tuple[bool, str]:
        try:
            onnx = self.store.onnx(current["sha256"])
        except StoreError as exc:
            return False, str(exc)
        try:
            response = self.clients[site].deploy_model(name, current["version"], onnx,
                                                       sha256=current["sha256"])
        except grpc.RpcError as exc:
            return False, f"{exc.code().name}: {exc.details()}"
        except Exception as exc:  # noqa: BLE001 - a broken link must not stop the others
            return False, f"{type(exc).__name__}: {exc}"
        if not response.deployed or response.model.sha256 != current["sha256"]:
            return False, response.message or "not deployed"
        return True, response.message or "deployed"

    # -- background worker -------------------------------------------------------------

    def start(self, *, retry_s: float = 60.0,
              on_error: Callable[[BaseException], None] | None = None) -> ModelDistributor:
        """Run syncs in a daemon thread: when woken by the log, and every ``retry_s``
        while a deployment is pending (a node still offline)."""

        def loop() -> None:
            while not self._stop.is_set():
                woken = self._wake.wait(retry_s)
                self._wake.clear()
                if self._stop.is_set():
                    return
                try:
                    if woken or self.pending():
                        self.sync()
                except Exception as exc:  # noqa: BLE001 - keep distributing
                    _log.exception("model distribution failed")
                    if on_error is not None:
                        on_error(exc)

        self._thread = threading.Thread(target=loop, name="model-distributor", daemon=True)
        self._thread.start()
        self._wake.set()     # a first sync at start (models promoted while we were down)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
