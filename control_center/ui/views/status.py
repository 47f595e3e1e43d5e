"""The console's top line: the night, the log's latest time and position, the log's health."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from control_center.ui.model.views import ConsoleSnapshot

__all__ = ["StatusLine", "replay_text"]


class StatusLine(Static):
    """One line that says what the console is attached to and how current it is."""

    DEFAULT_CSS = """
    StatusLine {
        height: auto; max-height: 3; background: $panel; padding: 0 1;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def __init__(self, log_url: str, observer: str, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.log_url = log_url
        self.observer = observer
        self.snapshot: ConsoleSnapshot | None = None
        self.problem: str | None = None
        self.background: str | None = None
        self._draw()

    def show(self, snapshot: ConsoleSnapshot) -> None:
        self.snapshot = snapshot
        self._draw()

    def set_problem(self, problem: str | None) -> None:
        self.problem = problem
        self._draw()

    def set_background(self, text: str | None) -> None:
        self.background = text
        self._draw()

    def _draw(self) -> None:
        s = self.snapshot
        line = Text()
        if s is None:
            line.append("connecting to ", style="dim")
            line.append(self.log_url)
        else:
            night = s.night
            line.append(night.network_name if night else "no night yet", style="bold")
            if s.sim_time is not None:
                line.append(f"  {s.sim_time:%Y-%m-%d %H:%M:%S} UTC")
            if night is not None and night.ended:
                line.append("  night ended", style="yellow")
            line.append(f"  #{s.position:,}", style="dim")
        line.append(f"  observer {self.observer}", style="dim")
        if s is not None:
            line.append(f"  {s.log_url}", style="dim")
        if s is not None and s.replay is not None:
            line.append("\n")
            line.append_text(replay_text(s.replay))
        if self.background:
            line.append(f"\n{self.background}", style="yellow")
        if self.problem:
            line.append(f"\n⚠ {self.problem}", style="bold red")
        self.update(line)


def replay_text(r) -> Text:
    """The replay's line: playing or paused, speed, position in the night, playback time."""
    if r.loading:
        return Text(f"REPLAY  indexing the night... {r.total:,} events", style="bold magenta")
    line = Text()
    line.append("REPLAY ", style="bold magenta")
    line.append("▶ playing" if r.playing else "⏸ paused", style="bold" if r.playing else "")
    line.append(f"  {r.speed}")
    line.append(f"  event {r.index:,}/{r.total:,}")
    if r.clock is not None:
        line.append(f"  {r.clock:%H:%M:%S} UTC")
    if r.at_end:
        line.append("  end of the night", style="yellow")
    line.append("  read-only", style="dim")
    return line
