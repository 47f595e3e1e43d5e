"""Finding the skymap an alert refers to: a local path, a ``file:`` URL, or a remote URL
whose file was saved next to the notice. Nothing is downloaded."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from control_center.alerts.skymap import MAX_SKYMAP_BYTES, Localisation, SkymapError, read_skymap

__all__ = ["resolve_skymap"]


def resolve_skymap(reference: str, base_dir: Path | None
                   ) -> tuple[Localisation | None, str, str]:
    """Read the skymap ``reference`` names.

    Returns
    -------
    localisation, source, problem
        The map (None when it cannot be used), where it was read from (or the
        reference), and why it could not be used ("" on success).
    """
    url = urlparse(reference)
    if url.scheme in ("http", "https", "ftp"):
        name = Path(unquote(url.path)).name.split(",", 1)[0]   # GraceDB adds ",<version>"
        local = base_dir / name if base_dir is not None and name else None
        if local is None or not local.is_file():
            where = f"; save it as {local}" if local is not None else ""
            return None, reference, f"skymap {reference} is remote and is not downloaded{where}"
        path = local
    elif url.scheme == "file":
        path = Path(unquote(url.path))
    elif url.scheme == "" or len(url.scheme) == 1:   # a path (or a Windows drive)
        path = Path(reference)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
    else:
        return None, reference, f"skymap {reference}: unsupported URL scheme {url.scheme!r}"
    if not path.is_file():
        return None, str(path), f"skymap {path} is not a file"
    try:
        if path.stat().st_size > MAX_SKYMAP_BYTES:
            return None, str(path), f"skymap {path} is larger than {MAX_SKYMAP_BYTES} bytes"
        data = path.read_bytes()
    except OSError as exc:
        return None, str(path), f"cannot read skymap {path}: {exc.strerror or exc}"
    try:
        return read_skymap(data, str(path)), str(path), ""
    except SkymapError as exc:
        return None, str(path), f"undecodable skymap: {exc}"
