"""Alerts: VOEvent 2.0 and GCN JSON notices of transients, recorded in the log.

Public names:

- :func:`ingest` / :func:`ingest_outcome`: parse a notice, tile its
  localisation, check it is observable and record ``AlertReceived``,
  ``AlertRetracted`` or ``AlertRejected`` (never raises on bad input);
- :func:`parse_alert` and the :class:`Alert` it returns; :class:`AlertParseError`;
- :func:`read_skymap`, :class:`Localisation`, :func:`tile_localisation`,
  :class:`Tiling`, :class:`Tile`;
- :class:`AlertFolder`: a watched folder of notices;
- :func:`visibility`: can the network see positions in the next day.

See ``docs/alerts.md``.
"""

from control_center.alerts.folder import AlertFolder, AlertFolderError
from control_center.alerts.ingestion import (
    Ingested,
    alert_priority,
    field_side_deg,
    ingest,
    ingest_outcome,
)
from control_center.alerts.model import ALERT_KINDS, ALERT_ROLES, Alert, AlertParseError, short_id
from control_center.alerts.observability import Visibility, visibility
from control_center.alerts.parsing import parse_alert
from control_center.alerts.skymap import Localisation, SkymapError, circle_localisation, read_skymap
from control_center.alerts.tiling import MAX_TILES, Tile, Tiling, tile_localisation

__all__ = [
    "ALERT_KINDS",
    "ALERT_ROLES",
    "MAX_TILES",
    "Alert",
    "AlertFolder",
    "AlertFolderError",
    "AlertParseError",
    "Ingested",
    "Localisation",
    "SkymapError",
    "Tile",
    "Tiling",
    "Visibility",
    "alert_priority",
    "circle_localisation",
    "field_side_deg",
    "ingest",
    "ingest_outcome",
    "parse_alert",
    "read_skymap",
    "short_id",
    "tile_localisation",
    "visibility",
]
