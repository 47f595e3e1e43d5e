"""The site node: one gRPC process per site (instrument backend, edge inference, outbox).

``openastro site-node --config SITE.toml`` runs it (see ``docs/site-node.md``).

``config``       ``SITE.toml`` schema and validation.
``server``       builds the node and serves ``openastro.v1.SiteNode`` (grpc.aio, TLS,
                 token, graceful shutdown).
``service``      the RPC handlers.
``node``         the queue worker: backend, frame, edge pipeline, outbox.
``outbox``       the durable queue and result outbox (SQLite, WAL).
``auth``         the bearer-token interceptor and TLS credentials.
``messages``     protocol messages <-> domain objects.
``models_store`` deployed models kept on disk.
``sky_stats``    a stand-in edge pipeline, used only when ``site_node.edge`` is absent.
``backends``     instrument backends (``simulated``, ``indi``).
``edge``         the edge inference pipeline.

Nothing is started at import.
"""
