"""The UPDATE_PASSWORD required action of the browser login: after the password, a user who
must change it gets Keycloak's "Update password" form; the new one is saved and Keycloak's
events recorded (UPDATE_PASSWORD, deprecated, then UPDATE_CREDENTIAL, both with
credential_type=password), then the login finishes as usual."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, Response

from tokenadmin.emulator import model
from tokenadmin.emulator.events import record_event
from tokenadmin.emulator.http import Ctx, Router
from tokenadmin.emulator.issuing import issuer
from tokenadmin.emulator.login import PAGE, _client_data, _finish, error_page
from tokenadmin.emulator.oidc import oidc_realm
from tokenadmin.emulator.store import new_id

if TYPE_CHECKING:
    from tokenadmin.emulator.store import Client, Realm, User

router = Router()
UPDATE_PASSWORD = "UPDATE_PASSWORD"


def update_password_form(
    ctx: Ctx, realm: Realm, tab_id: str, client: Client, error: str | None = None
) -> HTMLResponse:
    request = realm.auth_sessions.get(tab_id) or {}
    action = (
        f"{issuer(ctx, realm)}/login-actions/required-action?session_code={new_id()}"
        f"&execution={UPDATE_PASSWORD}&client_id={client.client_id}&tab_id={tab_id}"
        f"&client_data={_client_data(request)}"
    )
    parts = []
    if error:
        parts.append(
            f'<div class="alert-error" id="input-error"><span class="kc-feedback-text">'
            f"{html.escape(error)}</span></div>"
        )
    parts += [
        f'<form id="kc-passwd-update-form" action="{action}" method="post">',
        '<label for="password-new">New Password</label>',
        '<input type="password" id="password-new" name="password-new" autofocus '
        'autocomplete="new-password">',
        '<label for="password-confirm">Confirm password</label>',
        '<input type="password" id="password-confirm" name="password-confirm" '
        'autocomplete="new-password">',
        '<input type="submit" value="Submit">',
        "</form>",
    ]
    return HTMLResponse(
        PAGE.format(
            title="Update password",
            realm=html.escape(realm.name),
            heading="Update password",
            body="\n".join(parts),
        )
    )


def _events(ctx: Ctx, realm: Realm, client: Client, user: User, redirect_uri: str) -> None:
    details = {
        "auth_method": "openid-connect",
        "redirect_uri": redirect_uri,
        "credential_type": "password",
        "username": user.username,
    }
    for event_type in ("UPDATE_PASSWORD", "UPDATE_CREDENTIAL"):
        record_event(
            realm,
            event_type,
            client_id=client.client_id,
            user_id=user.id,
            ip=ctx.client_ip,
            details=details,
        )


@router.route("/realms/{realm}/login-actions/required-action", "POST")
def required_action(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    tab_id = ctx.query.get("tab_id", "")
    request = realm.auth_sessions.get(tab_id)
    now = ctx.store.clock.now()
    if request is None or request.get("user") is None:
        return error_page(
            realm.name, "Your login attempt timed out. Login will start from the beginning."
        )
    client = realm.clients.get(request["client"])
    user = realm.users.get(request["user"])
    if client is None or user is None:
        return error_page(realm.name, "Client not found.")
    form = ctx.form()
    new, confirm = form.get("password-new", ""), form.get("password-confirm", "")
    if not new:
        return update_password_form(ctx, realm, tab_id, client, "Please specify password.")
    if new != confirm:
        return update_password_form(ctx, realm, tab_id, client, "Passwords don't match.")
    model.set_password(realm, user, new)
    user.required_actions = [a for a in user.required_actions if a != UPDATE_PASSWORD]
    _events(ctx, realm, client, user, str(request["redirect_uri"]))
    del realm.auth_sessions[tab_id]
    us = realm.sessions.create(new_id(), user.id, ctx.client_ip, now, remember_me=False)
    record_event(
        realm,
        "LOGIN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=us.id,
        ip=ctx.client_ip,
        details={
            "auth_method": "openid-connect",
            "username": user.username,
            "redirect_uri": str(request["redirect_uri"]),
        },
    )
    return _finish(ctx, realm, client, user, us, request, acr="1")
