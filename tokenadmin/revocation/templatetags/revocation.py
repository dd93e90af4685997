"""`{% may realm "manage-users" as allowed %}`: hide what the admin's roles would refuse.
`{% session_revoke_cell session %}`: a live session's revoke cell, through the same renderer as
the sessions table's rows (sessionindex/rows_html.py)."""

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from tokenadmin.keycloak.types import KcSession
from tokenadmin.sessionindex.rows_html import revoke_button_html, session_revoke_url_base

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context: template.Context, realm: str, right: str) -> bool:
    rights = context.get("rights")
    return bool(rights) and rights.can(realm, right)


@register.simple_tag(takes_context=True)
def session_revoke_cell(context: template.Context, session: KcSession) -> SafeString:
    """The <td> with the session's revoke button (a badge for the admin's own session); needs
    `realm` and `my_session_id` in the context. The caller shows it only to who may revoke."""
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
