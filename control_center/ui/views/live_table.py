"""A table for live feeds: rows replaced wholesale several times a second, drawn lazily.

Textual's DataTable measures every cell it is given, so handing it a burst of
hundreds of new rows costs a second. :class:`LiveTable` is a line-API widget
(like Toolong's log view): :meth:`LiveTable.sync` only stores the rows, and
only the lines on screen are rendered (and cached), so the cost of a redraw
does not depend on how many rows the table holds. Columns have fixed widths
(one may fill the rest); the cursor stays on its row while rows come and go,
and in ``follow`` mode it rides the newest row until the observer moves up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["FLEX_PREFERRED_WIDTH", "MIN_FLEX_WIDTH", "LiveTable", "Row"]

Row = tuple[str, Sequence[Any]]
"""A row: its key and its cells (str or rich Text)."""

MIN_FLEX_WIDTH = 16
"""Narrowest the ``"*"`` column gets."""
FLEX_PREFERRED_WIDTH = 30
"""Below this, the ``"*"`` column pushes the columns after it off screen instead."""
DEFAULT_WIDTH = 12
_PAD = 1
_CACHE_MAX = 512


class LiveTable(ScrollView, can_focus=True):
    """A table of rows with a row cursor, fed whole with :meth:`sync`.

    Parameters
    ----------
    columns : sequence of (label, key, width)
        ``width`` is a number of cells (content is cut to it) or ``"*"`` for the
        one column that fills what the others leave (when that is under
        :data:`FLEX_PREFERRED_WIDTH`, the columns after it go off screen and
        scroll into view).
    follow : bool
        Keep the cursor on the newest (last) row while it is there.
    """

    BINDINGS: ClassVar = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-table--header", "live-table--cursor", "live-table--even-row"}
    DEFAULT_CSS = """
    LiveTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .live-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .live-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .live-table--even-row { background: $surface-lighten-1 50%; }
        &:dark > .live-table--even-row { background: $surface-darken-1 40%; }
        & > .live-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True)
    """Index of the row under the cursor."""

    class RowHighlighted(Message):
        """The cursor moved to the row ``row_key`` (index ``cursor_row``)."""

        def __init__(self, table: LiveTable, cursor_row: int, row_key: str) -> None:
            super().__init__()
            self.table, self.cursor_row, self.row_key = table, cursor_row, row_key

        @property
        def control(self) -> LiveTable:
            return self.table

    class RowSelected(RowHighlighted):
        """The observer pressed Enter (or double-clicked) on the row ``row_key``."""

    def __init__(self, columns: Sequence[tuple], *, follow: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._labels = [c[0] for c in columns]
        self._names = [c[1] for c in columns]
        self._specs = [c[2] if len(c) > 2 else DEFAULT_WIDTH for c in columns]
        self._widths = [w if isinstance(w, int) else MIN_FLEX_WIDTH for w in self._specs]
        self.follow = follow
        self._keys: list[str] = []
        self._cells: dict[str, tuple] = {}
        self._index: dict[str, int] = {}
        self._lines: dict[tuple, tuple[tuple, Strip]] = {}
        """Rendered lines by (row key, style, widths), with the cells they show."""

    # -- data ------------------------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        """Row keys, in display order."""
        return list(self._keys)

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor (None when empty)."""
        if not self._keys:
            return None
        return self._keys[min(self.cursor_row, len(self._keys) - 1)]

    def get_row(self, key: str) -> tuple:
        """The cells of the row ``key``."""
        return self._cells[key]

    def sync(self, rows: Sequence[Row]) -> None:
        """Show ``rows`` (in order); the cursor stays on its row, or follows the newest."""
        at_end = not self._keys or self.cursor_row >= len(self._keys) - 1
        selected = self.selected_key
        self._keys = [key for key, _ in rows]
        self._cells = {key: tuple(cells) for key, cells in rows}
        self._index = {key: i for i, key in enumerate(self._keys)}
        self._resize_virtual()
        if not self._keys:
            target = 0
        elif self.follow and at_end:
            target = len(self._keys) - 1
        elif selected in self._index:
            target = self._index[selected]
        else:
            target = min(self.cursor_row, len(self._keys) - 1)
        if target != self.cursor_row or selected != self.selected_key:
            self.cursor_row = target
        else:
            self._scroll_to_cursor()
        self.refresh()

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        """Put the cursor on row ``row`` (clamped)."""
        self.cursor_row = max(0, min(row, len(self._keys) - 1))

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, max(0, len(self._keys) - 1)))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowHighlighted(self, new, key))

    # -- geometry --------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._fit_flexible()
        self._resize_virtual()
        self._scroll_to_cursor()

    def on_show(self, event: events.Show) -> None:
        """A table of a view brought to the front: its cursor row in view once laid out."""
        self._scroll_to_cursor()

    def _fit_flexible(self) -> None:
        flexible = [i for i, spec in enumerate(self._specs) if spec == "*"]
        if not flexible or not self.size.width:
            return
        i = flexible[0]
        width = self.size.width - self.styles.scrollbar_size_vertical
        before = sum(w + 2 * _PAD for w in self._widths[:i])
        after = sum(w + 2 * _PAD for w in self._widths[i + 1:])
        room = width - before - after - 2 * _PAD
        if room < FLEX_PREFERRED_WIDTH:
            room = width - before - 2 * _PAD
        if max(MIN_FLEX_WIDTH, room) != self._widths[i]:
            self._widths[i] = max(MIN_FLEX_WIDTH, room)
            self._lines.clear()

    def _resize_virtual(self) -> None:
        total = sum(w + 2 * _PAD for w in self._widths)
        self.virtual_size = Size(total, len(self._keys) + 1)

    @property
    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        """Bring the cursor's row into view, once the layout is up to date."""
        self.call_after_refresh(self._scroll_to_cursor_now)

    def _scroll_to_cursor_now(self, attempts: int = 5) -> None:
        if not self.size.height:      # not laid out yet (a hidden view): on_show/on_resize
            return
        top = round(self.scroll_y)
        if self.cursor_row < top:
            wanted = self.cursor_row
        elif self.cursor_row >= top + self._visible_rows:
            wanted = self.cursor_row - self._visible_rows + 1
        else:
            return
        self.scroll_to(y=wanted, animate=False, immediate=True)
        if round(self.scroll_y) != wanted and attempts > 0:
            # clamped by a layout not yet updated to the new rows: try after the next one
            self.call_after_refresh(self._scroll_to_cursor_now, attempts - 1)

    # -- drawing ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = round(self.scroll_x)
        if y == 0:
            strip = self._line(None, self._labels, "live-table--header")
        else:
            index = round(self.scroll_y) + y - 1
            if index >= len(self._keys):
                return Strip.blank(width, self.rich_style)
            key = self._keys[index]
            if index == self.cursor_row:
                component = "live-table--cursor"
            else:
                component = "live-table--even-row" if index % 2 else ""
            strip = self._line(key, self._cells[key], component)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _line(self, key: str | None, cells: Sequence[Any], component: str) -> Strip:
        cache_key = (key, component, tuple(self._widths))
        cached = self._lines.get(cache_key)
        if cached is not None and cached[0] == cells:
            return cached[1]
        base = self.rich_style
        if component:
            base = base + self.get_component_rich_style(component, partial=True)
        segments: list[Segment] = []
        console = self.app.console
        for value, width in zip(cells, self._widths, strict=False):
            text = value.copy() if isinstance(value, Text) else Text(str(value))
            text.truncate(width, overflow="ellipsis" if width > 3 else "crop", pad=True)
            text.pad_left(_PAD)
            text.pad_right(_PAD)
            segments.extend(text.render(console))
        strip = Strip(segments).apply_style(base) if segments else Strip.blank(0, base)
        if len(self._lines) >= _CACHE_MAX:
            self._lines.clear()
        self._lines[cache_key] = (tuple(cells), strip)
        return strip

    # -- keys and mouse --------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self.cursor_row -= self._visible_rows

    def action_page_down(self) -> None:
        self.cursor_row += self._visible_rows

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self._keys) - 1

    def action_select_cursor(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, key))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = round(self.scroll_y) + event.y - 1
        if 0 <= index < len(self._keys):
            self.cursor_row = index
            if event.chain >= 2:
                self.action_select_cursor()
