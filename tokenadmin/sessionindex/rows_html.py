"""The sessions table's rows as HTML, built in Python in one pass.

The template engine costs a few microseconds per variable and tag, and a row has about thirty:
at 50 to 200 rows a page that was most of an htmx answer (12-14 ms for 50 rows, ~55 ms for 200).
Here every value goes through html.escape (what Django's autoescape applies, quotes included),
and the markup is the one the template had; the template prints the result as one safe string.
"""

from collections.abc import Iterable
from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from .selectors_page import SessionRow

_MINE_CHECK = (
    '<span class="text-secondary small" title="Your own session is never revoked in bulk">—</span>'
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
    '<span class="badge text-bg-info" data-testid="own-session"'
    ' title="tokenadmin never signs you out from here">your session</span>'
)


def _confirm(*, username: str, offline: bool, client_ids: Iterable[str], started: str) -> str:
    """The revoke button's question, naming what goes: whose session, on which clients, started
    when, and how many (one)."""
    clients = ", ".join(client_ids) or "no client"
    what = "offline session" if offline else "session"
    verb = "Revoke" if offline else "Sign out"
    after = (
        "Its refresh token stops working at once." if offline else "The user's other sessions stay."
    )
    return escape(f"{verb} 1 {what} of {username} ({clients}), started {started}? {after}")


def session_revoke_url_base(realm: str) -> str:
    """The revoke URLs' common start, "/revocations/<realm>/users/": a row adds its user id
    and session id (reverse() per row would cost ~20 µs each)."""
    return reverse("revocation:user", args=[realm, "-"]).removesuffix("-/")


def selection_checkbox_html(*, session_id: str, offline: bool, mine: bool) -> str:
    """A row's checkbox for the selection toolbar; never for the admin's own session."""
    if mine:
        return _MINE_CHECK
    value = f"{escape(session_id)}{':offline' if offline else ''}"
    return (
        '<input type="checkbox" class="form-check-input" name="session"'
        f' form="revoke-selection" value="{value}"'
        ' aria-label="Select this session" data-testid="select-session">'
    )


def revoke_button_html(
    *,
    url_base: str,
    user_id: str,
    session_id: str,
    offline: bool,
    mine: bool,
    username: str,
    client_ids: Iterable[str],
    started: str,
) -> str:
    """A session's revoke button (sign out, or revoke an offline session), the one renderer of
    it for every page; the admin's own session gets a badge instead. `url_base` is
    session_revoke_url_base(realm), `started` the start as the page prints it."""
    if mine:
        return _MINE_REVOKE
    question = _confirm(username=username, offline=offline, client_ids=client_ids, started=started)
    path = f"{escape(url_base)}{escape(user_id)}/"
    sid = escape(session_id)
    if offline:
        return (
            '<button type="button" class="btn btn-outline-danger btn-sm py-0"'
            ' data-testid="revoke-offline-session"'
            f' hx-post="{path}offline-sessions/{sid}/revoke/"'
            ' hx-target="#revocation-outcome" hx-swap="innerHTML"'
            f' hx-include="#revocation-reason" hx-confirm="{question}">Revoke</button>'
        )
    return (
        '<button type="button" class="btn btn-outline-danger btn-sm py-0"'
        ' data-testid="revoke-session"'
        f' hx-post="{path}sessions/{sid}/sign-out/"'
        ' hx-target="#revocation-outcome" hx-swap="innerHTML"'
        f' hx-include="#revocation-reason" hx-confirm="{question}">Sign out</button>'
    )


def client_badges_html(client_paths: Iterable[tuple[str, str]], *, url_base: str) -> str:
    """A session's clients as badges, each a link to the client page when `url_base` (escaped,
    session_client_url_base(realm)) is given, i.e. when the admin may view clients; "—" for
    none. `client_paths` are (client uuid URL-quoted, clientId)."""
    badges = [
        f'<a class="badge rounded-pill text-bg-light border client-badge"'
        f' href="{url_base}{escape(path)}/">{escape(client_id)}</a> '
        if url_base
        else '<span class="badge rounded-pill text-bg-light border client-badge">'
        f"{escape(client_id)}</span> "
        for path, client_id in client_paths
    ]
    return "".join(badges) or _NO_CLIENT


def session_client_url_base(realm: str) -> str:
    """The client pages' common start, "/sessions/<realm>/clients/": a badge adds the uuid."""
    return reverse("sessions:client", args=[realm, "-"]).removesuffix("-/")


def _user_cells_html(row: SessionRow, user_base: str) -> str:
    """User (with the details a narrow screen folds away), address, started, last used."""
    session = row.session
    ip = escape(session.ip_address) if session.ip_address else "—"
    # The minute and the time zone ("2026-05-01 12:00 UTC"): every time shows its zone.
    started = escape(row.started_text + row.started_exact[19:])
    kind = "offline" if session.offline else "regular"
    return (
        f'<td><a href="{user_base}{escape(row.user_path)}/" data-testid="user-link">'
        f"{escape(session.username)}</a>{_YOU_BADGE if row.is_mine else ''}"
        '<details class="session-details small text-secondary" data-testid="session-details">'
        '<summary data-testid="session-details-toggle">Details'
        '<span class="visually-hidden"> of this session</span></summary>'
        f'<span class="mono">{ip}</span> · {kind}<br>started {started}'
        f"<br>last used {escape(row.last_access_text)}</details></td>"
        f'<td class="mono col-detail">{ip}</td>'
        f'<td class="col-detail" title="{escape(row.started_exact)}">{started}</td>'
        f'<td class="col-detail" title="{escape(row.last_access_exact)}">'
        f"{escape(row.last_access_text)}</td>"
    )


def _expires_cell_html(row: SessionRow) -> str:
    title = f' title="{escape(row.expires_exact)}"' if row.expires_exact else ""
    text = escape(row.expires_text)
    if row.expires_class:
        text = f'<span class="{escape(row.expires_class)}">{text}</span>'
    return f'<td class="num"{title} data-testid="expires-in">{text}</td>'


def _revoke_cell_html(row: SessionRow, revoke_url_base: str) -> str:
    session = row.session
    button = revoke_button_html(
        url_base=revoke_url_base,
        user_id=session.user_id,
        session_id=session.session_id,
        offline=session.offline,
        mine=row.is_mine,
        username=session.username,
        client_ids=[client_id for _, client_id in row.client_paths],
        started=row.started_exact,
    )
    return f'<td class="text-end text-nowrap">{button}</td>'


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
    client_base = escape(client_url_base) if can_view_clients else ""
    out: list[str] = []
    add = out.append
    for row in rows:
        session = row.session
        mine = row.is_mine
        sid = escape(session.session_id)
        add(f'<tr data-session-id="{sid}" data-testid="session-row"{_MINE_CLASS if mine else ""}>')
        if can_revoke:
            check = selection_checkbox_html(
                session_id=session.session_id, offline=session.offline, mine=mine
            )
            add(f"<td>{check}</td>")
        add(_user_cells_html(row, user_base))
        add('<td class="clients-cell">')
        add(client_badges_html(row.client_paths, url_base=client_base))
        add("</td>")
        add(_OFFLINE if session.offline else _REGULAR)
        add(_REMEMBER if session.remember_me else _NO_REMEMBER)
        add(_expires_cell_html(row))
        if can_revoke:
            add(_revoke_cell_html(row, revoke_url_base))
        add("</tr>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
