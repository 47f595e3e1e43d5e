"""Alerts (VOEvent, GCN): follow-up candidates at alert positions and gravitational-wave tiles.

The entry point ``alerts = plugins.alerts:AlertResponder`` registers
:class:`AlertResponder`; notices are recorded by ``control_center.alerts.ingest``
(``openastro alert FILE``), and the responder reads them from the log.
"""

from plugins.alerts.responder import AlertResponder

__all__ = ["AlertResponder"]
