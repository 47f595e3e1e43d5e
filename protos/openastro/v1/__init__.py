"""``openastro.v1``: the site-node protocol.

``site_node.proto`` is the source of truth; ``site_node_pb2*.py`` and
``site_node_pb2.pyi`` are generated from it by ``python -m protos.generate``
and committed. ``python -m protos.generate --check`` fails when they drift.
"""
