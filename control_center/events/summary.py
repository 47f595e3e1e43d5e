"""One-line summaries of event payloads, for ``openastro log tail`` and the console's log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

__all__ = ["payload_summary", "short_value"]


def short_value(value: Any, max_chars: int | None = None) -> str:
    """A field's value in a few characters: times as HH:MM:SS, ids by their first 8
    hex digits, lists by their length, mappings by their first keys."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%H:%M:%S")
    if isinstance(value, UUID):
        return value.hex[:8]
    if isinstance(value, list | tuple):
        return f"[{len(value)}]"
    if isinstance(value, dict):
        return "{" + ",".join(list(map(str, value))[:3]) + ("…}" if len(value) > 3 else "}")
    text = str(value)
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars - 1] + "…"
    return repr(text) if (" " in text or not text) else text


def payload_summary(payload: Mapping[str, Any], max_chars: int | None = None) -> str:
    """``key=value`` pairs of a payload, each value shortened by :func:`short_value`."""
    return " ".join(f"{k}={short_value(v, max_chars)}" for k, v in payload.items()
                    if k not in ("originator_id", "originator_version"))
