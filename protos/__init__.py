"""Wire protocol definitions (``.proto`` files) and their generated stubs.

``protos/openastro/v1/site_node.proto`` defines what crosses the wire between the
control center and the site nodes; ``python -m protos.generate`` regenerates the
committed stubs and ``--check`` reports any drift.
"""
