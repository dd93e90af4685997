"""The cells of a live session's row on the user and client pages, through the same renderer
as the sessions table's rows (sessionindex/rows_html.py), so each cell has one markup:
`{% session_client_badges session %}`, `{% session_revoke_cell session %}`."""

from urllib.parse import quote

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tokenadmin.keycloak.types import KcSession
from tokenadmin.sessionindex.rows_html import (
    client_badges_html,
    revoke_button_html,
    session_client_url_base,
    session_revoke_url_base,
)

register = template.Library()


@register.simple_tag(takes_context=True)
def session_client_badges(context: template.Context, session: KcSession) -> SafeString:
    """The session's clients by clientId, linked when `can_view_clients`; needs `realm`."""
    clients = sorted(session.clients.items(), key=lambda item: item[1])
    paths = [(quote(uuid, safe="/"), client_id) for uuid, client_id in clients]
    url_base = (
        escape(session_client_url_base(context["realm"])) if context.get("can_view_clients") else ""
    )
    return mark_safe(client_badges_html(paths, url_base=url_base))  # noqa: S308 - escaped


@register.simple_tag(takes_context=True)
def session_revoke_cell(context: template.Context, session: KcSession) -> SafeString:
    """The <td> with the session's revoke button (a badge for the admin's own session); needs
    `realm` and `my_session_id`. The caller shows it only to who may revoke."""
    started = timezone.localtime(session.started_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    button = revoke_button_html(
        url_base=session_revoke_url_base(context["realm"]),
        user_id=session.user_id,
        session_id=session.id,
        offline=session.offline,
        mine=session.id == context.get("my_session_id"),
        username=session.username,
        client_ids=session.clients.values(),
        started=started,
    )
    return mark_safe(f'<td class="text-end text-nowrap">{button}</td>')  # noqa: S308 - escaped
