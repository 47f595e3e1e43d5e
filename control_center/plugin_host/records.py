"""What the plugin host reports: errors, per-call failures and per-plugin facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FailureKind",
    "PluginError",
    "PluginFailure",
    "PluginInfo",
    "describe_exception",
    "one_line",
]

FailureKind = Literal["raised", "timeout", "invalid"]
"""How a plugin call failed: it raised, ran past its budget, or returned garbage."""

_MAX_MESSAGE = 300


class PluginError(Exception):
    """The plugin set asked for cannot be built (unknown name, policy, scorer or hook).

    The message is one line, names the offending item and lists what is available.
    """


@dataclass(frozen=True)
class PluginFailure:
    """One plugin call that was left out of a result.

    Parameters
    ----------
    plugin : str
        Name of the plugin.
    hook : str
        Hook that was called (``"openastro_filter"``), or ``"load"`` when the
        plugin could not be imported or registered.
    failure : {"raised", "timeout", "invalid"}
        What went wrong.
    message : str
        One line: the exception type and text, the time budget that was
        exceeded, or what was wrong with the returned value.
    """

    plugin: str
    hook: str
    failure: FailureKind
    message: str


@dataclass(frozen=True)
class PluginInfo:
    """What ``openastro plugins list`` shows about one plugin.

    Parameters
    ----------
    name : str
        Name the plugin is registered under (the entry point's name).
    origin : str
        ``"built-in"`` for plugins shipped by the ``openastro`` distribution,
        ``"<distribution> <version>"`` for third-party ones, ``"in-process"``
        for objects passed with ``extra=``.
    path : str
        Where the plugin object lives: ``"package.module"`` or
        ``"package.module:attribute"``.
    hooks : tuple of str
        Names of the hooks it implements, sorted.
    error : str or None
        Why the plugin is broken (could not be imported, instantiated or
        registered); None when it loaded.
    """

    name: str
    origin: str
    path: str
    hooks: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the plugin loaded and is registered."""
        return self.error is None

    @property
    def status(self) -> str:
        """``"ok"`` or ``"broken: <error>"``."""
        return "ok" if self.error is None else f"broken: {self.error}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``plugins list --json``)."""
        return {
            "name": self.name,
            "origin": self.origin,
            "path": self.path,
            "hooks": list(self.hooks),
            "status": "ok" if self.error is None else "broken",
            "error": self.error,
        }


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """Collapse whitespace (newlines included) and cut ``text`` to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_exception(exc: BaseException) -> str:
    """``"TypeError: text"`` on one line (just the type when the text is empty)."""
    text = str(exc)
    return one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
