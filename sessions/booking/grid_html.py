"""The calendar grid's body as HTML: one row per time slot, a cell per column.

Built here rather than in the template because a week is some 250 cells: the template engine
spent more on them (a tag, a lookup and a {% url %} per cell) than the rest of the page together.
The markup is the template's (calendar_grid.html keeps the header, the filters and the legend);
static/js/calendar-grid.js and the browser tests read its classes and test ids.
"""

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from sessions.booking.grid import CalendarGrid, GridCell, GridSession

_CLOSED = '<td class="cg-closed"><span class="visually-hidden">closed</span></td>'
_SHORT = '<td class="cg-short"><span class="visually-hidden">not bookable</span></td>'


def grid_body_html(grid: CalendarGrid, *, can_book: bool) -> SafeString:
    """The <tbody> of the grid; free slots link to the booking form only if the user can book."""
    # Reversed once: a week would otherwise reverse a URL per session and per free slot.
    detail_head, detail_tail = reverse("treatment_sessions:session_detail", args=[0]).rsplit("0", 1)
    book_url = reverse("treatment_sessions:session_new")
    # The day view by room names the clinician in each block; the other views name the room.
    shows_clinician = grid.by == "room" and grid.view == "day"

    def block(session: GridSession, cell: GridCell) -> str:
        other = "" if cell.matches else " cg-other"
        flags = "".join(
            f'<span class="cg-flag">{escape(flag)}</span>'
            for flag in session.flags
            if flag != "Unconfirmed"  # the status already says so
        )
        where = session.clinician_name if shows_clinician else session.room_name
        return (
            f'<a class="cg-block status-{escape(session.status)} kind-{escape(session.kind)}'
            f'{other}" href="{detail_head}{session.pk}{detail_tail}" data-testid="grid-session">\n'
            f'<span class="cg-when">{session.starts:%H:%M}–{session.ends:%H:%M}</span>\n'
            f"<strong>{escape(session.patient_name)}</strong>\n"
            f'<span class="cg-meta">{escape(session.status_label)} · '
            f"{escape(session.position or session.kind_label)} · {escape(where)}</span>\n"
            f"{flags}\n</a>"
        )

    def cell_html(cell: GridCell) -> str:
        if cell.state == "session":
            blocks = "\n".join(block(session, cell) for session in cell.entries)
            return f'<td rowspan="{cell.rowspan}" class="cg-session">\n{blocks}</td>'
        if cell.state == "free":
            if not can_book:
                return '<td class="cg-free"></td>'
            return (
                f'<td class="cg-free"><a href="{book_url}?{escape(cell.book_query)}" '
                f'aria-label="{escape(cell.label)}" data-testid="free-slot">'
                '<span aria-hidden="true">+</span></a></td>'
            )
        return _SHORT if cell.state == "short" else _CLOSED

    lines = []
    for row in grid.rows:
        at = f"{row.at:%H:%M}"
        hour = "cg-hour" if row.at.minute == 0 else ""
        label = at if row.at.minute in (0, 30) else f'<span class="visually-hidden">{at}</span>'
        cells = "\n".join(cell_html(cell) for cell in row.cells if cell is not None)
        lines.append(
            f'<tr class="{hour}">\n<th scope="row" class="cg-time">{label}</th>\n{cells}\n</tr>'
        )
    return mark_safe("<tbody>\n" + "\n".join(lines) + "\n</tbody>")  # noqa: S308 - escaped above
