"""One entry point for every alert format: sniff the payload, call its parser."""

from __future__ import annotations

from pathlib import Path

from control_center.alerts.gcn_json import parse_gcn_json
from control_center.alerts.model import Alert, AlertParseError
from control_center.alerts.voevent import parse_voevent

__all__ = ["MAX_PAYLOAD_BYTES", "parse_alert", "payload_format"]

MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
"""Largest notice accepted (an IGWN alert with an embedded skymap is ~0.2-1 MB)."""

_BOMS = (b"\xef\xbb\xbf",)


def payload_format(data: bytes) -> str:
    """``"voevent"`` (XML), ``"gcn-json"`` (JSON) or ``"unknown"``, from the first byte."""
    head = data[:64]
    for bom in _BOMS:
        head = head.removeprefix(bom)
    head = head.lstrip()
    if head.startswith(b"<"):
        return "voevent"
    if head.startswith((b"{", b"[")):
        return "gcn-json"
    return "unknown"


def parse_alert(data: bytes, *, base_dir: Path | None = None) -> Alert:
    """Parse a VOEvent 2.0 or GCN JSON notice.

    Parameters
    ----------
    data : bytes
        The notice.
    base_dir : Path, optional
        Where the notice was read from (skymaps named by relative paths, or saved
        next to it, are read from there).

    Raises
    ------
    AlertParseError
        Naming the problem.
    """
    if len(data) > MAX_PAYLOAD_BYTES:
        raise AlertParseError(f"notice is {len(data)} bytes, more than {MAX_PAYLOAD_BYTES}")
    kind = payload_format(data)
    if kind == "voevent":
        return parse_voevent(data.lstrip(b"\xef\xbb\xbf \t\r\n"), base_dir=base_dir)
    if kind == "gcn-json":
        return parse_gcn_json(data.lstrip(b"\xef\xbb\xbf"), base_dir=base_dir)
    if not data.strip():
        raise AlertParseError("empty notice")
    raise AlertParseError(f"neither XML nor JSON (starts with {data[:16]!r})")
