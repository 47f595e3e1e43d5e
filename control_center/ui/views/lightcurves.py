"""The Light curves view: targets with photometry, and the selected target's fused curve.

The table lists every target with measured frames (frames, calibrated points,
last calibrated magnitude, sites, light-curve alerts). For the target under
the cursor the view calibrates and fuses its frames across sites
(:func:`~control_center.ui.model.lightcurves_fold.target_curve`, as
``openastro lightcurve`` does) in a worker thread, only when that target's
frames or the calibrations changed, and draws the fused points per band with
their error bars and each site's calibrated points (``p`` hides them).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from control_center.ui.model.lightcurves_fold import (
    LightCurveRow,
    LightCurvesSection,
    TargetCurve,
    target_curve,
)
from control_center.ui.model.views import ConsoleSnapshot
from control_center.ui.views.base import ConsoleView
from control_center.ui.views.live_table import LiveTable

__all__ = ["LightCurvesView", "draw_curve"]

COLUMNS = (("Target", "target", 14), ("Frames", "frames", 6), ("Calib", "calibrated", 5),
           ("Last mag", "last", 17), ("Bands", "bands", 6), ("Alerts", "alerts", 6),
           ("Sites", "sites", "*"))
SITE_MARKERS = ("dot", "x", "+", "*", "o", "sd", "hd")
"""Markers of the sites' calibrated points (the fused points are bars with error bars)."""
MAX_DETAIL_LINES = 4


def section_of(snapshot: ConsoleSnapshot) -> LightCurvesSection:
    """The snapshot's Light curves section (empty for a snapshot without one)."""
    return snapshot.lightcurves or LightCurvesSection()


class LightCurvesView(ConsoleView):
    """Targets by name; the one under the cursor is drawn below the table."""

    title = "Light curves"
    sections: ClassVar[tuple[str, ...]] = ("lightcurves",)
    BINDINGS: ClassVar = [Binding("p", "toggle_points", "Site points"),
                          Binding("l", "toggle_method", "GLS/learned")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.method = "gls"
        self.show_points = True
        self.curve: TargetCurve | None = None
        """The curve drawn (None: none yet)."""
        self._wanted: tuple | None = None
        """Inputs of the curve to show: (target, frames, calibrations, method)."""
        self._computing: tuple | None = None
        self._drawn: tuple | None = None

    def compose(self) -> ComposeResult:
        yield LiveTable(COLUMNS, id="lightcurves-table")
        yield Static("No photometry in the log yet: light curves need frames measured by "
                     "the sites.", id="lightcurve-summary", classes="detail")
        yield PlotextPlot(id="lightcurve-plot")
        yield Static("", id="lightcurve-alerts", classes="detail")

    # -- snapshot --------------------------------------------------------------------------

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        section = section_of(snapshot)
        self.query_one("#lightcurves-table", LiveTable).sync(
            [(r.target, _cells(r)) for r in section.rows])
        self._select()

    def on_live_table_row_highlighted(self, event: LiveTable.RowHighlighted) -> None:
        self._select()

    def selected(self) -> LightCurveRow | None:
        key = self.query_one("#lightcurves-table", LiveTable).selected_key
        if key is None or self.snapshot is None:
            return None
        return next((r for r in section_of(self.snapshot).rows if r.target == key), None)

    def action_toggle_points(self) -> None:
        self.show_points = not self.show_points
        if self.curve is not None:
            self._draw(self.curve)

    def action_toggle_method(self) -> None:
        self.method = "learned" if self.method == "gls" else "gls"
        self.notify(f"Fusion across sites: {self.method}", timeout=2)
        self._select()

    # -- the selected target's curve ---------------------------------------------------------

    def _select(self) -> None:
        """Ask for the selected target's curve when its inputs changed."""
        row = self.selected()
        if row is None or self.snapshot is None:
            self._wanted = None
            return
        section = section_of(self.snapshot)
        wanted = (row.target, section.frames.get(row.target), section.calibrations,
                  self.method)
        self._show_alerts(row, section)
        if self._drawn is not None and _same(wanted, self._drawn):
            self._wanted = wanted
            return
        if self.curve is None or self.curve.target != row.target:
            self.query_one("#lightcurve-summary", Static).update(
                f"{row.target}: calibrating and fusing {row.frames} frames…")
        self._wanted = wanted
        if self._computing is None:
            self._start(section, wanted)

    def _start(self, section: LightCurvesSection, wanted: tuple) -> None:
        self._computing = wanted
        self._compute(section, wanted)

    @work(thread=True, group="lightcurve", exit_on_error=False)
    def _compute(self, section: LightCurvesSection, wanted: tuple) -> None:
        """Calibrate and fuse one target (in a thread: never on the fold's nor the screen's)."""
        target, _, _, method = wanted
        try:
            curve, error = target_curve(section, target, method=method), None
        except Exception as exc:  # noqa: BLE001 - shown to the observer
            curve, error = None, f"{type(exc).__name__}: {exc}"
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._computed, section, wanted, curve, error)

    def _computed(self, section: LightCurvesSection, wanted: tuple,
                  curve: TargetCurve | None, error: str | None) -> None:
        self._computing = None
        latest = self._wanted
        if latest is not None and _same(latest, wanted):
            self._drawn = wanted
            if curve is None:
                self.curve = None
                self.query_one("#lightcurve-summary", Static).update(
                    Text(f"{wanted[0]}: the light curve cannot be computed: {error}",
                         style="red"))
            else:
                self._draw(curve)
        elif latest is not None and self.snapshot is not None:
            self._start(section_of(self.snapshot), latest)

    def _draw(self, curve: TargetCurve) -> None:
        self.curve = curve
        widget = self.query_one("#lightcurve-plot", PlotextPlot)
        draw_curve(widget.plt, curve, points=self.show_points, method=self.method)
        widget.refresh()
        summary = curve.summary.text()
        if not curve.fused:
            summary += " · no calibrated point yet"
        self.query_one("#lightcurve-summary", Static).update(
            f"{curve.target} ({self.method}): {summary}")

    def _show_alerts(self, row: LightCurveRow, section: LightCurvesSection) -> None:
        lines = [Text(f"alert: {line}", style="yellow")
                 for line in section.alerts.get(row.target, ())[-2:]]
        lines += [Text(f"drift at {site}: {section.drifts[site]}", style="magenta")
                  for site in row.sites if site in section.drifts]
        if section.dropped_frames:
            lines.append(Text(f"{section.dropped_frames} older frames no longer kept "
                              "(openastro lightcurve reads them all)", style="dim"))
        self.query_one("#lightcurve-alerts", Static).update(
            Text("\n").join(lines[-MAX_DETAIL_LINES:]))


def _same(a: tuple, b: tuple) -> bool:
    """The same curve inputs (the snapshot's frames and calibrations by identity)."""
    return a[0] == b[0] and a[1] is b[1] and a[2] is b[2] and a[3] == b[3]


def draw_curve(plt: Any, curve: TargetCurve, *, points: bool = True,
               method: str = "gls") -> None:
    """Draw ``curve`` on a plotext figure ``plt``: per band, the fused points with their
    error bars, joined by a line, and (``points``) each site's calibrated points; hours
    since the first point's MJD (whole day) across, magnitudes increasing downwards."""
    plt.clear_data()
    plt.clear_figure()
    good = [p for p in curve.points if p.mag is not None and math.isfinite(p.time_mjd)]
    if not curve.fused and not good:
        plt.title(f"{curve.target}: no calibrated point")
        return
    t0 = math.floor(min([f.time_mjd for f in curve.fused] + [p.time_mjd for p in good]))

    def hours(t: float) -> float:
        return round((t - t0) * 24.0, 4)

    sites = sorted({p.site for p in good})
    for band in sorted({f.band for f in curve.fused} | {p.band for p in good}):
        if points:
            for k, site in enumerate(sites):
                pts = [p for p in good if p.band == band and p.site == site]
                if pts:
                    plt.scatter([hours(p.time_mjd) for p in pts], [p.mag for p in pts],
                                marker=SITE_MARKERS[k % len(SITE_MARKERS)],
                                label=f"{site} {band}")
        fused = [f for f in curve.fused if f.band == band]
        if fused:
            xs, ys = [hours(f.time_mjd) for f in fused], [f.mag for f in fused]
            plt.error(xs, ys, yerr=[f.err for f in fused])
            plt.plot(xs, ys, label=f"fused {band} ({method}) ± σ")
    plt.yreverse(True)
    plt.xlabel(f"hours since MJD {t0}")
    plt.ylabel("mag")


def _cells(r: LightCurveRow) -> tuple:
    last = "-" if r.last_mag is None else \
        f"{r.last_mag:.3f}±{r.last_err:.3f} {r.last_band}"
    calibrated = Text(str(r.calibrated), style="" if r.calibrated else "dim")
    alerts = Text(str(r.alerts), style="bold yellow") if r.alerts else "-"
    return (r.target, str(r.frames), calibrated, last, ",".join(r.bands), alerts,
            ", ".join(r.sites))
