"""The Trends view: seeing, sky brightness and zero point per site over the night."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual_plotext import PlotextPlot

from control_center.ui.model.views import ConsoleSnapshot
from control_center.ui.views.base import ConsoleView

__all__ = ["QUANTITIES", "TrendsView"]

QUANTITIES = {
    "seeing": ("Seeing (arcsec, FWHM)", "seeing reported by each site"),
    "sky": ("Sky brightness (V mag/arcsec², larger is darker)", "reported by each site"),
    "zero_point": ("Zero point (mag)", "measured on each frame by the site's edge pipeline"),
}


class TrendsView(ConsoleView):
    """One quantity at a time, one line per site, hours since the night's start."""

    can_focus = True
    title = "Trends"
    sections: ClassVar[tuple[str, ...]] = ("trends",)
    BINDINGS: ClassVar = [Binding("s", "quantity('seeing')", "Seeing"),
                          Binding("k", "quantity('sky')", "Sky"),
                          Binding("z", "quantity('zero_point')", "Zero point")]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.quantity = "seeing"

    def compose(self) -> ComposeResult:
        yield Static("", id="trend-title", classes="detail")
        yield PlotextPlot(id="trend-plot")

    def action_quantity(self, quantity: str) -> None:
        self.quantity = quantity
        if self.snapshot is not None:
            self.show(self.snapshot, force=True)

    def focus_main(self) -> None:
        self.focus()

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        title, note = QUANTITIES[self.quantity]
        series = [s for s in snapshot.trends if s.quantity == self.quantity and s.hours]
        widget = self.query_one(PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        for s in series:
            if len(s.hours) == 1:
                plt.scatter(list(s.hours), list(s.values), label=s.site)
            else:   # conditions hold until the next report: draw them as steps
                xs, ys = _steps(s.hours, s.values, self.quantity != "zero_point")
                plt.plot(xs, ys, label=s.site)
        plt.xlabel("hours since the night's start")
        self.query_one("#trend-title", Static).update(
            f"{title}: {note}" if series else f"{title}: nothing measured yet")
        widget.refresh()


def _steps(hours: tuple[float, ...], values: tuple[float, ...],
           stepped: bool) -> tuple[list[float], list[float]]:
    if not stepped:
        return list(hours), list(values)
    xs, ys = [], []
    for i, (x, y) in enumerate(zip(hours, values, strict=True)):
        if i:
            xs.append(x)
            ys.append(values[i - 1])
        xs.append(x)
        ys.append(y)
    return xs, ys
