"""The sessions table's rows as HTML, built in Python in one pass.

The template engine costs a few microseconds per variable and tag, and a row has about thirty:
at 50 to 200 rows a page that was most of an htmx answer (12-14 ms for 50 rows, ~55 ms for 200).
Here every value goes through html.escape (what Django's autoescape applies, quotes included),
and the markup is the one the template had; the template prints the result as one safe string.
"""

from collections.abc import Iterable
from html import escape

from django.utils.safestring import SafeString, mark_safe

from .selectors import SessionRow

_MINE_CHECK = (
    '<td><span class="text-secondary small" title="Your own session is never revoked in bulk">'
    "—</span></td>"
)
_YOU_BADGE = (
    ' <span class="badge text-bg-info" title="The session you are signed in with"'
    ' data-testid="you-badge">you</span>'
)
_MINE_CLASS = ' class="table-info"'
_NO_CLIENT = '<span class="text-secondary">—</span>'
# Cells of the detail columns carry col-detail: a phone hides them (tokenadmin.css) and offers
# each row's details under the user instead, as a closed <details> disclosure (no script: the
# browser opens it on a click, Enter or Space, and tells screen readers it is collapsed).
_OFFLINE = '<td class="col-detail"><span class="badge text-bg-dark">offline</span></td>'
_REGULAR = '<td class="col-detail"><span class="badge text-bg-success">regular</span></td>'
_REMEMBER = '<td class="col-detail"><span title="Remember me">yes</span></td>'
_NO_REMEMBER = '<td class="col-detail"><span class="text-secondary">no</span></td>'
_MINE_REVOKE = (
    '<td class="text-end text-nowrap"><span class="badge text-bg-info"'
    ' title="tokenadmin never signs you out from here">your session</span></td>'
)


def _confirm(row: SessionRow) -> str:
    """The revoke button's question, naming what goes: whose session, on which clients, started
    when, and how many (one)."""
    session = row.session
    clients = ", ".join(client_id for _, client_id in row.client_paths) or "no client"
    what = "offline session" if session.offline else "session"
    verb = "Revoke" if session.offline else "Sign out"
    after = (
        "Its refresh token stops working at once."
        if session.offline
        else "The user's other sessions stay."
    )
    return escape(
        f"{verb} 1 {what} of {session.username} ({clients}), started {row.started_exact}? {after}"
    )


def session_rows_html(
    rows: Iterable[SessionRow],
    *,
    can_revoke: bool,
    can_view_clients: bool,
    user_url_base: str,
    client_url_base: str,
    revoke_url_base: str,
) -> SafeString:
    """The <tr> of every row, escaped; see the table head in realm_sessions.html."""
    user_base = escape(user_url_base)
    client_base = escape(client_url_base)
    revoke_base = escape(revoke_url_base)
    out: list[str] = []
    add = out.append
    for row in rows:
        session = row.session
        sid = escape(session.session_id)
        mine = row.is_mine
        add(f'<tr data-session-id="{sid}" data-testid="session-row"{_MINE_CLASS if mine else ""}>')
        if can_revoke:
            if mine:
                add(_MINE_CHECK)
            else:
                add(
                    '<td><input type="checkbox" class="form-check-input" name="session"'
                    f' form="revoke-selection" value="{sid}{":offline" if session.offline else ""}"'
                    ' aria-label="Select this session" data-testid="select-session"></td>'
                )
        ip = escape(session.ip_address) if session.ip_address else "—"
        # The minute and the time zone ("2026-05-01 12:00 UTC"): every time shows its zone.
        started = escape(row.started_text + row.started_exact[19:])
        kind = "offline" if session.offline else "regular"
        add(
            f'<td><a href="{user_base}{escape(row.user_path)}/" data-testid="user-link">'
            f"{escape(session.username)}</a>{_YOU_BADGE if mine else ''}"
            '<details class="session-details small text-secondary" data-testid="session-details">'
            '<summary data-testid="session-details-toggle">Details'
            '<span class="visually-hidden"> of this session</span></summary>'
            f'<span class="mono">{ip}</span> · {kind}<br>started {started}'
            f"<br>last used {escape(row.last_access_text)}</details></td>"
            f'<td class="mono col-detail">{ip}</td>'
            f'<td class="col-detail" title="{escape(row.started_exact)}">{started}</td>'
            f'<td class="col-detail" title="{escape(row.last_access_exact)}">'
            f"{escape(row.last_access_text)}</td>"
            '<td class="clients-cell">'
        )
        if row.client_paths:
            for path, client_id in row.client_paths:
                if can_view_clients:
                    add(
                        '<a class="badge rounded-pill text-bg-light border client-badge"'
                        f' href="{client_base}{escape(path)}/">{escape(client_id)}</a> '
                    )
                else:
                    add(
                        '<span class="badge rounded-pill text-bg-light border client-badge">'
                        f"{escape(client_id)}</span> "
                    )
        else:
            add(_NO_CLIENT)
        add("</td>")
        add(_OFFLINE if session.offline else _REGULAR)
        add(_REMEMBER if session.remember_me else _NO_REMEMBER)
        title = f' title="{escape(row.expires_exact)}"' if row.expires_exact else ""
        text = escape(row.expires_text)
        if row.expires_class:
            text = f'<span class="{escape(row.expires_class)}">{text}</span>'
        add(f'<td class="num"{title} data-testid="expires-in">{text}</td>')
        if can_revoke:
            if mine:
                add(_MINE_REVOKE)
            else:
                user = escape(session.user_id)
                if session.offline:
                    add(
                        '<td class="text-end text-nowrap"><button type="button"'
                        ' class="btn btn-outline-danger btn-sm py-0"'
                        ' data-testid="revoke-offline-session"'
                        f' hx-post="{revoke_base}{user}/offline-sessions/{sid}/revoke/"'
                        ' hx-target="#revocation-outcome" hx-swap="innerHTML"'
                        f' hx-include="#revocation-reason" hx-confirm="{_confirm(row)}">'
                        "Revoke</button></td>"
                    )
                else:
                    add(
                        '<td class="text-end text-nowrap"><button type="button"'
                        ' class="btn btn-outline-danger btn-sm py-0" data-testid="revoke-session"'
                        f' hx-post="{revoke_base}{user}/sessions/{sid}/sign-out/"'
                        ' hx-target="#revocation-outcome" hx-swap="innerHTML"'
                        ' hx-include="#revocation-reason"'
                        f' hx-confirm="{_confirm(row)}">Sign out</button></td>'
                    )
        add("</tr>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
