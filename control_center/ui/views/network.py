"""The Network view: every site (time, Sun, weather, link) and every telescope's work."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from control_center.ui.model.views import ConsoleSnapshot, SiteView, TelescopeView
from control_center.ui.overrides import Override
from control_center.ui.views.base import REASON, ConsoleView, rating
from control_center.ui.views.format import duration, number, progress_bar, state_text
from control_center.ui.views.live_table import LiveTable

__all__ = ["NetworkView"]

_PHASE_SHORT = {"day": "day", "civil twilight": "civil tw.", "nautical twilight": "naut. tw.",
                "astronomical twilight": "astro tw.", "night": "night", "?": "?"}

SITE_COLUMNS = (("Site", "site", 12), ("Local", "local", 5), ("Sun", "sun", 6),
                ("Phase", "phase", 9), ("Dome", "dome", 6), ("Seeing", "seeing", 6),
                ("Sky", "sky", 4), ("Cloud", "cloud", 5), ("Link", "link", 8))
SCOPE_COLUMNS = (("Telescope", "telescope", 11), ("Doing", "doing", 9), ("Target", "target", 14),
                 ("Progress", "progress", 10), ("Left", "left", 6), ("Last", "last", "*"),
                 ("Site", "site", 12))


class NetworkView(ConsoleView):
    """Sites and telescopes at the log's latest simulated time."""

    title = "Network"
    sections: ClassVar[tuple[str, ...]] = ("network",)
    BINDINGS: ClassVar = [Binding("p", "pause", "Pause"), Binding("r", "resume", "Resume"),
                          Binding("g", "rate('good')", "Good"), Binding("b", "rate('bad')", "Bad"),
                          Binding("tab", "switch_table", "Sites/telescopes", show=False)]

    def compose(self) -> ComposeResult:
        yield LiveTable(SITE_COLUMNS, id="sites")
        yield Static("", id="site-detail", classes="detail")
        yield LiveTable(SCOPE_COLUMNS, id="telescopes")

    def change_key(self, snapshot: ConsoleSnapshot) -> Any:
        return (snapshot.versions.get("network"), snapshot.sim_time)

    def render_snapshot(self, snapshot: ConsoleSnapshot) -> None:
        sites = self.query_one("#sites", LiveTable)
        sites.sync([(s.name, _site_cells(s)) for s in snapshot.sites])
        sites.styles.height = len(snapshot.sites) + 1 if snapshot.sites else 2
        self.query_one("#telescopes", LiveTable).sync(
            [(t.name, _scope_cells(t)) for s in snapshot.sites for t in s.telescopes])
        self._show_detail()

    def on_live_table_row_highlighted(self, event: LiveTable.RowHighlighted) -> None:
        if event.table.id == "sites":
            self._show_detail()

    def selected_site(self) -> SiteView | None:
        """The site under the cursor of the sites table."""
        if self.snapshot is None:
            return None
        key = self.query_one("#sites", LiveTable).selected_key
        return next((s for s in self.snapshot.sites if s.name == key), None)

    def selected_telescope(self) -> TelescopeView | None:
        """The telescope under the cursor of the telescopes table."""
        if self.snapshot is None:
            return None
        key = self.query_one("#telescopes", LiveTable).selected_key
        return next((t for s in self.snapshot.sites for t in s.telescopes if t.name == key),
                    None)

    def _target(self) -> tuple[dict, str] | None:
        """What a pause or resume applies to: the focused table's selection."""
        if self.screen.focused is self.query_one("#sites", LiveTable):
            site = self.selected_site()
            return None if site is None else ({"site": site.name},
                                              f"site {site.name} (all its telescopes)")
        scope = self.selected_telescope()
        return None if scope is None else ({"telescope": scope.name}, f"telescope {scope.name}")

    def action_pause(self) -> None:
        target = self._target()
        self.request_override(
            target and Override("pause", target[0], f"pause {target[1]}", (REASON,)),
            "Select a telescope or a site to pause.")

    def action_resume(self) -> None:
        target = self._target()
        self.request_override(
            target and Override("resume", target[0], f"resume {target[1]}", (REASON,)),
            "Select a telescope or a site to resume.")

    def action_rate(self, value: str) -> None:
        scope = self.selected_telescope()
        override = None
        if scope is not None and scope.last_observation_id:
            override = rating(scope.last_observation_id, value,
                              f"the last observation of {scope.name} ({scope.last_outcome})")
        self.request_override(override, "Select a telescope that has finished an observation.")

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Ratings apply to telescopes: their keys show (and work) in the telescopes table."""
        if action == "rate":
            return self.screen.focused is self.query_one("#telescopes", LiveTable)
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def action_switch_table(self) -> None:
        sites, scopes = self.query_one("#sites", LiveTable), self.query_one("#telescopes",
                                                                           LiveTable)
        (scopes if self.screen.focused is sites else sites).focus()

    def _show_detail(self) -> None:
        site = self.selected_site()
        detail = self.query_one("#site-detail", Static)
        if site is None:
            detail.update("No night in the log yet: waiting for NightStarted."
                          if self.snapshot and self.snapshot.night is None else "")
            return
        parts = [Text(site.label, style="bold")]
        if not site.in_network:
            parts.append(Text("not in the night's network description", style="yellow"))
        if site.open is False and site.weather_reason:
            parts.append(Text(f"closed: {site.weather_reason}", style="red"))
        if site.humidity is not None:
            parts.append(Text(f"humidity {site.humidity:.2f}, wind {site.wind_m_s:.1f} m/s"))
        if site.link == "in-process":
            parts.append(Text("in-process (no link)", style="dim"))
        elif site.link_reason:
            parts.append(Text(f"link {site.link}: {site.link_reason}",
                              style="red" if site.link == "offline" else ""))
        if site.paused_by:
            parts.append(Text(f"paused by {site.paused_by}", style="bold yellow"))
        detail.update(Text("  ·  ").join(parts))


def _site_cells(s: SiteView) -> tuple:
    dome = state_text("unknown", "-") if s.open is None else (
        state_text("open") if s.open else state_text("closed"))
    phase = Text(_PHASE_SHORT.get(s.phase, s.phase),
                 style="bold" if s.dark else ("dim" if s.phase == "day" else ""))
    name = Text(s.name + (" ⏸" if s.paused_by else ""),
                style="yellow" if (not s.in_network or s.paused_by) else "")
    link = (Text("local", style="dim") if s.link == "in-process"
            else state_text(s.link, "-" if s.link == "unknown" else s.link))
    return (name, s.local_time, number(s.sun_alt_deg, "+.1f", "°"), phase, dome,
            number(s.seeing_arcsec, ".2f", '"'), number(s.sky_v_mag_arcsec2, ".1f"),
            number(s.cloud_cover, ".2f"), link)


def _scope_cells(t: TelescopeView) -> tuple:
    doing = state_text(t.state, "-" if t.state == "unknown" else t.state)
    if t.paused_by:
        doing = Text("paused" if t.state != "observing" else "obs/paused", style="bold yellow")
    last = t.last_outcome or "-"
    if t.last_rating:
        last += f" [{t.last_rating}]"
    if t.forced:
        last = f"forced next: {t.forced} · {last}"
    target = f"{t.target} {t.filter}" if t.target else "-"
    return (t.name, doing, target, progress_bar(t.progress, 5),
            duration(t.remaining_s) if t.state == "observing" else "-", last, t.site)
