"""OpenAstro control center: event log, plugin host, decision loop and CLI.

The control center never imports the terminal UI; the UI is built on top of it.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
