"""Run a site node: build it from ``SITE.toml`` and serve gRPC until told to stop.

:func:`run` is what ``openastro site-node --config SITE.toml`` calls. The
server is ``grpc.aio`` with TLS (unless ``insecure``), the token interceptor,
a receive limit (``max_receive_mb``, larger messages get RESOURCE_EXHAUSTED),
and a graceful shutdown on SIGTERM or SIGINT: results streams end, in-flight
calls get :data:`GRACE_S` to finish, the observation in progress completes.

Once listening, the node prints ``site-node SITE listening on HOST:PORT`` on
stdout and writes ``data_dir/site-node.json`` (``address``, ``pid``, ``site``),
so ``listen = "127.0.0.1:0"`` (any free port) can be used by a supervisor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import grpc

from control_center.network import Site
from site_node.config import SiteConfig, SiteConfigError, resolve_site

__all__ = ["GRACE_S", "make_backend", "run", "serve"]

GRACE_S = 5.0
_log = logging.getLogger("site_node")


def make_backend(config: SiteConfig, site: Site) -> Any:
    """The instrument backend named by ``[node] backend``.

    The INDI backend is imported lazily from :mod:`site_node.backends.indi`, which
    provides ``create_backend(site, options)`` (or an ``IndiBackend(site, options)``
    class); ``options`` is the ``[indi]`` table.
    """
    if config.backend == "simulated":
        from site_node.backends.simulated import SimulatedBackend

        return SimulatedBackend(site, config.seed, options=config.simulated,
                                span_file=config.data_dir / "simulated-span.json")
    try:
        from site_node.backends import indi
    except ImportError as exc:
        raise SiteConfigError(f"{config.source}: [node] backend: INDI backend unavailable "
                              f"({exc})") from None
    factory = getattr(indi, "create_backend", None) or indi.IndiBackend
    try:
        return factory(site, dict(config.indi))
    except ValueError as exc:
        raise SiteConfigError(f"{config.source}: {exc}") from None


def _server_options(config: SiteConfig) -> list[tuple[str, Any]]:
    limit = config.max_receive_bytes
    return [("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            ("grpc.keepalive_time_ms", 20_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
            ("grpc.keepalive_permit_without_calls", 1)]


async def serve(config: SiteConfig, *, backend: Any = None, pipeline: Any = None,
                stop: asyncio.Event | None = None,
                on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until ``stop`` is set (or SIGTERM/SIGINT when ``stop`` is None).

    Parameters
    ----------
    config : SiteConfig
    backend, pipeline : optional
        Injected instrument backend and edge pipeline (default: from the config,
        and the real edge pipeline when installed).
    on_ready : callable, optional
        Called with the bound ``HOST:PORT`` once serving.
    """
    from protos.openastro.v1 import site_node_pb2_grpc
    from site_node.auth import TokenInterceptor, read_token, server_credentials
    from site_node.node import SiteNode
    from site_node.service import SiteNodeService
    from site_node.sky_stats import load_pipeline

    site = resolve_site(config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    tls = config.tls
    interceptors = []
    if tls.token_file is not None:
        interceptors.append(TokenInterceptor(
            read_token(tls.token_file),
            on_refused=lambda method: _log.warning("refused %s: no valid token", method)))
    node = SiteNode(site, backend or make_backend(config, site), pipeline or load_pipeline(),
                    config.data_dir, backend_kind=config.backend, durable=config.durable)
    loop = asyncio.get_running_loop()
    server = grpc.aio.server(interceptors=interceptors, options=_server_options(config))
    service = SiteNodeService(node, loop)
    site_node_pb2_grpc.add_SiteNodeServicer_to_server(service, server)
    if tls.insecure:
        port = server.add_insecure_port(config.listen)
    else:
        port = server.add_secure_port(config.listen, server_credentials(tls.cert, tls.key))
    if not port:
        raise SiteConfigError(f"{config.source}: [node] listen: cannot listen on "
                              f"{config.listen}")
    host = config.host_port[0]
    address = f"{host}:{port}"
    await server.start()
    node.start()
    marker = config.data_dir / "site-node.json"
    marker.write_text(json.dumps({"address": address, "pid": os.getpid(), "site": site.name}))
    _log.info("site-node %s listening on %s (%s, %s)", site.name, address,
              "insecure" if tls.insecure else "TLS",
              "token required" if interceptors else "no token")
    if on_ready is not None:
        on_ready(address)
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        _log.info("site-node %s shutting down", site.name)
        service.shutdown()
        await server.stop(GRACE_S)
        await asyncio.to_thread(node.stop)
        marker.unlink(missing_ok=True)


def run(config_path: str) -> int:
    """``openastro site-node --config SITE.toml``: returns the exit code."""
    from site_node.config import load_config
    from site_node.outbox import OutboxError

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="site-node %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(config_path)
    except SiteConfigError as exc:
        print(f"openastro: error: {exc}", file=sys.stderr)
        return 2

    def ready(address: str) -> None:
        print(f"site-node {config.site} listening on {address}", flush=True)

    try:
        asyncio.run(serve(config, on_ready=ready))
    except (SiteConfigError, OutboxError, OSError, ValueError) as exc:
        print(f"openastro: error: {exc}", file=sys.stderr)
        return 2
    return 0
