"""How often each survey field has been observed, per filter, learned from the log.

Request ids of survey fields are ``survey:n<nside>:<pixel>``. An assignment
counts at once (so a second telescope on the same grid moves on to another
field); the count stays when the observation completes and is withdrawn when
it fails. Everything comes from log events, so replaying the log rebuilds the
same coverage.

Counts are sparse (only observed fields are stored), grouped by coarse cell,
so grids of millions of fields cost nothing until they are observed.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from plugins.generator.survey_grid import survey_grid

__all__ = ["SurveyCoverage", "field_request_id", "parse_field_request_id"]

_REQUEST_ID = re.compile(r"^survey:n(\d+):(\d+)$")


def field_request_id(nside: int, pixel: int) -> str:
    """The request id of field ``pixel`` on the grid of ``nside``."""
    return f"survey:n{nside}:{pixel}"


def parse_field_request_id(request_id: str) -> tuple[int, int] | None:
    """``(nside, pixel)`` of a survey field's request id, or None if it is not one."""
    m = _REQUEST_ID.match(request_id)
    if m is None:
        return None
    nside, pixel = int(m.group(1)), int(m.group(2))
    if nside < 1 or nside & (nside - 1) or pixel >= 12 * nside * nside:
        return None
    return nside, pixel


class _GridCounts:
    """Counts of one grid in one filter: per coarse cell, the observed fields' counts."""

    def __init__(self, nside: int) -> None:
        self.grid = survey_grid(nside)
        self.cells: dict[int, dict[int, int]] = {}
        self.cell_min = np.zeros(self.grid.n_cells, dtype=np.int32)

    def add(self, pixel: int, delta: int) -> None:
        cell = self.grid.cell_of(pixel)
        fields = self.cells.setdefault(cell, {})
        count = max(0, fields.get(pixel, 0) + delta)
        if count:
            fields[pixel] = count
        else:
            fields.pop(pixel, None)
        full = len(fields) == self.grid.children
        self.cell_min[cell] = min(fields.values()) if full else 0

    def count(self, pixel: int) -> int:
        return self.cells.get(self.grid.cell_of(pixel), {}).get(pixel, 0)

    def least_observed(self, cell: int) -> int:
        """The lowest-index field among the least-observed fields of ``cell``."""
        fields = self.cells.get(cell, {})
        first = cell * self.grid.children
        if len(fields) < self.grid.children:
            pixel = first
            while pixel in fields:
                pixel += 1
            return pixel
        low = min(fields.values())
        return min(p for p, n in fields.items() if n == low)


class SurveyCoverage:
    """Observation counts of survey fields, per grid and filter (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grids: dict[tuple[int, str], _GridCounts] = {}
        self._pending: dict[str, tuple[int, int, str]] = {}

    def _counts(self, nside: int, filter: str) -> _GridCounts:
        key = (nside, filter)
        if key not in self._grids:
            self._grids[key] = _GridCounts(nside)
        return self._grids[key]

    def assigned(self, observation_id: str, request_id: str, filter: str) -> None:
        """An observation of a field was assigned (counts until it fails)."""
        field = parse_field_request_id(request_id)
        if field is None:
            return
        with self._lock:
            if observation_id not in self._pending:
                self._pending[observation_id] = (*field, filter)
                self._counts(field[0], filter).add(field[1], +1)

    def completed(self, observation_id: str, request_id: str, filter: str) -> None:
        """An observation of a field completed with usable data."""
        field = parse_field_request_id(request_id)
        if field is None:
            return
        with self._lock:
            if self._pending.pop(observation_id, None) is None:
                self._counts(field[0], filter).add(field[1], +1)

    def failed(self, observation_id: str, request_id: str) -> None:
        """An observation of a field failed: its assignment no longer counts."""
        if parse_field_request_id(request_id) is None:
            return
        with self._lock:
            pending = self._pending.pop(observation_id, None)
            if pending is not None:
                nside, pixel, filter = pending
                self._counts(nside, filter).add(pixel, -1)

    def count(self, nside: int, pixel: int, filter: str) -> int:
        """Observations (completed or in progress) of one field in one filter."""
        with self._lock:
            return self._counts(nside, filter).count(pixel)

    def counts(self, nside: int, pixels, filter: str) -> np.ndarray:
        """:meth:`count` of many fields."""
        with self._lock:
            grid = self._counts(nside, filter)
            return np.array([grid.count(int(p)) for p in pixels], dtype=np.int32)

    def cell_minimum(self, nside: int, filter: str, cells: np.ndarray) -> np.ndarray:
        """Count of the least-observed field of each coarse cell."""
        with self._lock:
            return self._counts(nside, filter).cell_min[cells]

    def least_observed(self, nside: int, filter: str, cells) -> np.ndarray:
        """In each coarse cell, the lowest-index field among its least-observed ones."""
        with self._lock:
            grid = self._counts(nside, filter)
            return np.array([grid.least_observed(int(c)) for c in cells], dtype=np.int64)
