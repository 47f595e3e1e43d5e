"""A watched folder of alert notices: files dropped there are ingested once each.

Writers should write a notice under a hidden or ``.tmp`` name and rename it
when complete: names starting with ``.`` or ending in ``.tmp``, ``.part``,
``.partial``, ``.swp`` or ``~`` are ignored, as are directories.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["AlertFolder", "AlertFolderError"]

PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".swp", "~")


class AlertFolderError(OSError):
    """The watched folder is missing or unreadable."""


class AlertFolder:
    """New and changed files of a folder, in a deterministic order.

    Parameters
    ----------
    path : str or Path
        An existing directory.

    Examples
    --------
    >>> folder = AlertFolder(tmp_path)                      # doctest: +SKIP
    >>> for path in folder.poll():                          # doctest: +SKIP
    ...     ingest(log, path, network=network, sim_time=now)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise AlertFolderError(f"alert folder {self.path} does not exist or is not a "
                                   "directory")
        self._seen: dict[str, tuple[int, int]] = {}

    @staticmethod
    def is_partial(name: str) -> bool:
        """True for names of files still being written (hidden, ``.tmp``...)."""
        return name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES)

    def poll(self) -> list[Path]:
        """Files that appeared or changed (modification time or size) since the last poll.

        The first poll returns every file present. Order: by name, then
        modification time. A file that disappears and comes back is new again.

        Raises
        ------
        AlertFolderError
            When the folder cannot be listed.
        """
        found: list[tuple[str, int, Path]] = []
        current: dict[str, tuple[int, int]] = {}
        try:
            with os.scandir(self.path) as entries:
                for entry in entries:
                    if self.is_partial(entry.name):
                        continue
                    try:
                        if not entry.is_file():
                            continue
                        stat = entry.stat()
                    except OSError:
                        continue   # vanished between listing and stat: next poll
                    signature = (stat.st_mtime_ns, stat.st_size)
                    current[entry.name] = signature
                    if self._seen.get(entry.name) != signature:
                        found.append((entry.name, stat.st_mtime_ns, Path(entry.path)))
        except OSError as exc:
            raise AlertFolderError(f"cannot list alert folder {self.path}: "
                                   f"{exc.strerror or exc}") from None
        self._seen = current
        return [path for _, _, path in sorted(found)]
