"""Errors of the event log: each one a single line that names the log.

The CLI prints them as ``openastro: error: <message>`` and exits with code 2,
so a message must say which log (file or URL) and what is wrong with it,
without a traceback.
"""

from __future__ import annotations

__all__ = ["LogCorrupt", "LogError", "LogSchemaTooNew", "LogUnavailable"]


class LogError(Exception):
    """Base class of every event-log error.

    Parameters
    ----------
    url : str
        Display form of the log's location (password masked).
    message : str
        What is wrong, in one line.
    """

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.reason = " ".join(message.split())
        super().__init__(f"event log {url}: {self.reason}")


class LogUnavailable(LogError):
    """The log cannot be opened: missing file, not a database, unreachable
    server, permission denied, no OpenAstro log in that database."""


class LogSchemaTooNew(LogError):
    """The log (or one of its records) was written by a newer OpenAstro."""


class LogCorrupt(LogError):
    """The storage itself is damaged (truncated or malformed file, missing tables)."""
