"""Small text formats shared by the views (durations, progress bars, states)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

__all__ = ["clock", "duration", "number", "progress_bar", "state_text"]

_STATE_STYLES = {
    "online": "green", "degraded": "yellow", "offline": "bold red", "unknown": "dim",
    "open": "green", "closed": "red", "observing": "cyan", "idle": "yellow",
    "assigned": "green", "none": "yellow", "pending": "dim", "done": "dim",
    "received": "cyan", "rejected": "red", "retracted": "magenta", "superseded": "dim",
    "anomalous": "bold yellow",
}


def state_text(state: str, label: str | None = None) -> Text:
    """``label`` (default ``state``) styled by what the state means."""
    return Text(label if label is not None else state, style=_STATE_STYLES.get(state, ""))


def duration(seconds: float | None) -> str:
    """``1h05m``, ``3m12s``, ``45s``; ``-`` for None; ``+`` prefix when overdue."""
    if seconds is None:
        return "-"
    sign = "+" if seconds < 0 else ""
    s = round(abs(seconds))
    if s >= 3600:
        return f"{sign}{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{sign}{s // 60}m{s % 60:02d}s"
    return f"{sign}{s}s"


def progress_bar(fraction: float | None, width: int = 8) -> str:
    """A bar of ``width`` cells and the percentage, e.g. ``█████░░░ 62%``."""
    if fraction is None:
        return ""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled) + f" {fraction * 100:3.0f}%"


def clock(when: datetime | None, seconds: bool = True) -> str:
    """``HH:MM:SS`` (UTC) of a datetime, ``-`` for None."""
    if when is None:
        return "-"
    return f"{when:%H:%M:%S}" if seconds else f"{when:%H:%M}"


def number(value: float | None, fmt: str, suffix: str = "") -> str:
    """``value`` formatted with ``fmt``, or ``-`` when unknown."""
    return "-" if value is None else f"{value:{fmt}}{suffix}"
