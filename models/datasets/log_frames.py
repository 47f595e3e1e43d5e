"""Analysed frames from an event log, labelled by the observers' ratings.

Each ``FrameAnalyzed`` event without a pipeline error is one row: its site,
telescope, the pipeline's measures (:data:`FEATURES`), its verdict, and the
last ``ObservationRated`` rating of that observation, if any. The label is
``"bad"`` when an observer rated the observation bad (the frame is anomalous or
unusable for science: it must not be learned as normal), ``"good"`` when rated
good, and ``"normal"`` when unrated and the pipeline's verdict was not
anomalous (``"anomalous"`` otherwise). A later rating replaces an earlier one.

:func:`build_log_frames` writes ``frames.csv`` and ``dataset.json`` (counts, the
log positions read, the CSV's SHA-256) into a directory; its description goes
into the ``ModelTrained`` event of the model trained on it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FEATURES", "LogFrames", "build_log_frames"]

FEATURES = ("sky_level", "sky_noise", "n_sources", "fwhm_arcsec", "ellipticity",
            "zero_point", "anomaly_score")
"""Measures of a ``FrameAnalyzed`` event used as features (missing ones are NaN)."""
COLUMNS = ("observation_id", "site", "telescope", *FEATURES, "verdict", "rating", "observer",
           "label", "position")


def _number(value: Any) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return math.nan
    return f


@dataclass
class LogFrames:
    """Rows folded from recorded events (see the module docstring)."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    ratings: dict[str, tuple[str, str]] = field(default_factory=dict)
    first: int = 0
    last: int = 0

    def add(self, recorded: Any) -> None:
        """Fold one recorded event (a ``Recorded``; other event types are ignored)."""
        event = recorded.event
        kind = type(event).__name__
        if kind == "FrameAnalyzed" and not event.error:
            m = event.measures or {}
            self.rows[event.observation_id] = {
                "observation_id": event.observation_id, "site": event.site,
                "telescope": event.telescope, **{k: _number(m.get(k)) for k in FEATURES},
                "verdict": str(m.get("verdict") or ""), "position": recorded.position}
        elif kind == "ObservationRated":
            self.ratings[event.observation_id] = (event.rating, event.observer)
        else:
            return
        self.first = self.first or recorded.position
        self.last = recorded.position

    def table(self) -> list[dict[str, Any]]:
        """Labelled rows in log order."""
        out = []
        for row in sorted(self.rows.values(), key=lambda r: r["position"]):
            rating, observer = self.ratings.get(row["observation_id"], ("", ""))
            if rating == "bad":
                label = "bad"
            elif rating == "good":
                label = "good"
            else:
                label = "anomalous" if row["verdict"] == "anomalous" else "normal"
            out.append({**row, "rating": rating, "observer": observer, "label": label})
        return out


def build_log_frames(records: Iterable[Any], out: Path) -> dict[str, Any]:
    """Write the labelled frames of ``records`` to ``out``; returns the description.

    Parameters
    ----------
    records : iterable of Recorded
        Events of the log (e.g. ``log.read(type_names=("FrameAnalyzed",
        "ObservationRated"))``).
    out : Path
        Directory to write ``frames.csv`` and ``dataset.json`` into.

    Raises
    ------
    ValueError
        When the log holds no analysed frame.
    """
    frames = LogFrames()
    for recorded in records:
        frames.add(recorded)
    table = frames.table()
    if not table:
        raise ValueError("the log holds no analysed frame (FrameAnalyzed) to train on")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "frames.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in table:
            writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    labels = [r["label"] for r in table]
    rated = [r for r in table if r["rating"]]
    description = {
        "source": "log", "dataset": "frames", "positions": [frames.first, frames.last],
        "frames": len(table), "rated": len(rated),
        "rated_bad": sum(r["rating"] == "bad" for r in rated),
        "rated_good": sum(r["rating"] == "good" for r in rated),
        "labels": {k: labels.count(k) for k in sorted(set(labels))},
        "sites": sorted({r["site"] for r in table}),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    (out / "dataset.json").write_text(json.dumps(description, indent=2, sort_keys=True))
    return description
