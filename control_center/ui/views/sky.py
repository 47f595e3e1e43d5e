"""The Sky view: one site's sky in alt-az, with the queue's targets, where each telescope
points, the Moon and the site's horizon."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static
from textual_plotext import PlotextPlot

from control_center.ui.model.views import ConsoleSnapshot
from control_center.ui.views.base import ConsoleView

__all__ = ["SkyView"]


class SkyView(ConsoleView):
    """Azimuth across, altitude up; ``[`` and ``]`` change the site."""

    can_focus = True
    title = "Sky"
    sections: ClassVar[tuple[str, ...]] = ("sky", "network")
    BINDINGS: ClassVar = [Binding("left_square_bracket", "site(-1)", "Prev site"),
                          Binding("right_square_bracket", "site(1)", "Next site")]

    class SiteChosen(Message):
        """The Sky view wants the picture of ``site`` (None: no picture needed)."""

        def __init__(self, site: str | None) -> None:
            super().__init__()
            self.site = site

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="sky-title", classes="detail")
        yield PlotextPlot(id="sky-plot")

    def focus_main(self) -> None:
        self.focus()

    def change_key(self, snapshot: ConsoleSnapshot) -> Any:
        return (snapshot.versions.get("sky"), tuple(s.name for s in snapshot.sites), self.site)

    def action_site(self, step: int) -> None:
        names = [s.name for s in self.snapshot.sites if s.in_network] if self.snapshot else []
        if not names:
            return
        i = names.index(self.site) if self.site in names else -step
        self.choose(names[(i + step) % len(names)])

    def choose(self, site: str | None) -> None:
        """Show ``site`` (asks the follower for its picture)."""
        self.site = site
        self.post_message(self.SiteChosen(site))

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        names = [s.name for s in snapshot.sites if s.in_network]
        if self.site not in names:
            if names:
                self.choose(names[0])
            return
        sky = snapshot.sky
        title = self.query_one("#sky-title", Static)
        widget = self.query_one(PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        if sky is None or sky.site != self.site:
            title.update(f"{self.site}: computing the sky…")
            widget.refresh()
            return
        up = [t for t in sky.targets if t[2] > 0]
        if up:
            plt.scatter([t[1] for t in up], [t[2] for t in up], marker="•", label="targets")
        if sky.horizon:
            az, alt = _horizon_line(sky.horizon)
            plt.plot(az, alt, label="horizon")
        plt.plot([0, 360], [sky.min_altitude] * 2, label=f"limit {sky.min_altitude:g}°")
        for telescope, target, az, alt in sky.pointings:
            plt.scatter([az], [max(alt, 0)], marker="+", label=f"{telescope}: {target}")
        moon = ""
        if sky.moon is not None:
            az, alt, lit = sky.moon
            moon = f", Moon {lit:.0%} lit at {alt:+.0f}°"
            if alt > 0:
                plt.scatter([az], [alt], marker="◯", label=f"Moon {lit:.0%}")
        plt.xlim(0, 360)
        plt.ylim(0, 90)
        plt.xticks([0, 90, 180, 270, 360], ["N", "E", "S", "W", "N"])
        plt.xlabel("azimuth")
        title.update(f"{sky.label} at {sky.when:%H:%M} UTC: {len(up)} of {len(sky.targets)} "
                     f"wanted targets above the horizon{moon}")
        widget.refresh()


def _horizon_line(profile: tuple[tuple[float, float], ...]) -> tuple[list[float], list[float]]:
    """The horizon profile as a closed line from azimuth 0 to 360."""
    points = sorted(profile)
    az = [p[0] for p in points]
    alt = [p[1] for p in points]
    first, last = points[0], points[-1]
    wrap_alt = last[1] + (first[1] - last[1]) * (360 - last[0]) / (360 - last[0] + first[0]) \
        if (360 - last[0] + first[0]) else first[1]
    return [0.0, *az, 360.0], [wrap_alt, *alt, wrap_alt]
