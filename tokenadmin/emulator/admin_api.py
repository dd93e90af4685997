"""Admin REST: realms, clients, users (sheet §3-4.3)."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from tokenadmin.emulator import model
from tokenadmin.emulator.admin_common import (
    admin_event,
    admin_realm,
    bad_request,
    find_client,
    find_user,
    paging,
    require,
    require_any,
)
from tokenadmin.emulator.http import FORBIDDEN, Ctx, HttpError, Router, empty, json_response

if TYPE_CHECKING:
    from tokenadmin.emulator.store import Realm, User

router = Router()
R = "/admin/realms/{realm}"


def created(ctx: Ctx, path: str) -> Response:
    return empty(201, {"Location": f"{ctx.base_url}{path}"})


# -- realms ---------------------------------------------------------------------------------------
@router.route("/admin/realms", "GET")
def realms_list(ctx: Ctx) -> Response:
    out = []
    for realm in ctx.store.realms.values():
        rights = ctx.auth.rights(ctx.store, realm.name)
        if not rights:
            continue
        full = ctx.auth.has(ctx.store, realm.name, "view-realm")
        brief = ctx.bool_query("briefRepresentation", False)
        out.append(model.realm_rep(realm) if full and not brief else model.realm_brief_rep(realm))
    if not out:  # a caller who may see no realm at all is refused (26.7.3)
        raise HttpError(403, FORBIDDEN)
    return json_response(out)


@router.route("/admin/realms", "POST")
def realm_create(ctx: Ctx) -> Response:
    if not ctx.auth.can_create_realm():
        raise HttpError(403, FORBIDDEN)
    rep = ctx.json_object()
    name = str(rep.get("realm") or "").strip()
    if not name:
        raise bad_request("Realm name cannot be empty")
    if name in ctx.store.realms:
        raise HttpError(409, {"errorMessage": f"Realm {name} already exists"})
    from tokenadmin.emulator.seed import import_realm

    import_realm(ctx.store, rep)
    return created(ctx, f"/admin/realms/{name}")


@router.route(R, "GET")
def realm_get(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require_any(ctx, realm.name)
    if ctx.auth.has(ctx.store, realm.name, "view-realm"):
        return json_response(model.realm_rep(realm))
    return json_response(model.realm_brief_rep(realm))


@router.route(R, "PUT")
def realm_update(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-realm")
    rep = ctx.json_object()
    new_name = rep.get("realm")
    if new_name and new_name != realm.name:
        if realm.name == "master":
            raise bad_request("Can't rename master realm")
        if new_name in ctx.store.realms:
            raise HttpError(409, {"errorMessage": f"Realm {new_name} already exists"})
    model.apply_realm_rep(realm, rep)
    if new_name and new_name != realm.name:
        _rename_realm(ctx, realm, new_name)
    realm.sessions.recompute()
    admin_event(ctx, realm, "UPDATE", "REALM", "", rep)
    return empty()


def _rename_realm(ctx: Ctx, realm: Realm, new_name: str) -> None:
    store = ctx.store
    del store.realms[realm.name]
    master = store.realms.get("master")
    if master is not None:
        mgmt = master.client_by_client_id.pop(f"{realm.name}-realm", None)
        if mgmt is not None:
            mgmt.client_id = f"{new_name}-realm"
            master.client_by_client_id[mgmt.client_id] = mgmt
    realm.name = new_name
    store.realms[new_name] = realm


@router.route(R, "DELETE")
def realm_delete(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-realm")
    if realm.name == "master":
        raise bad_request("Can't delete master realm")
    model.delete_realm(ctx.store, realm)
    return empty()


# -- clients --------------------------------------------------------------------------------------
@router.route(R + "/clients", "GET")
def clients_list(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "query-clients")
    full = ctx.auth.has(ctx.store, realm.name, "view-clients")
    wanted = ctx.query.get("clientId")
    search = ctx.bool_query("search")
    first, max_ = paging(ctx, 10**9)
    out = []
    for client in realm.clients.values():
        if wanted is not None:
            if search and wanted.lower() not in client.client_id.lower():
                continue
            if not search and client.client_id != wanted:
                continue
        out.append(model.client_rep(client, full))
    return json_response(out[first : first + max_])


@router.route(R + "/clients", "POST")
def client_create(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    if not (
        ctx.auth.has(ctx.store, realm.name, "manage-clients")
        or ctx.auth.has(ctx.store, realm.name, "create-client")
    ):
        raise HttpError(403, FORBIDDEN)
    rep = ctx.json_object()
    client = model.create_client(realm, rep)
    admin_event(ctx, realm, "CREATE", "CLIENT", f"clients/{client.id}", rep)
    return created(ctx, f"/admin/realms/{realm.name}/clients/{client.id}")


@router.route(R + "/clients/{cu}", "GET")
def client_get(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-clients")
    return json_response(model.client_rep(find_client(realm, ctx.params["cu"])))


@router.route(R + "/clients/{cu}", "PUT")
def client_update(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-clients")
    client = find_client(realm, ctx.params["cu"])
    rep = ctx.json_object()
    model.apply_client_rep(realm, client, rep)
    if client.rep.get("serviceAccountsEnabled"):
        model.ensure_service_account(realm, client)
    realm.sessions.recompute()
    admin_event(ctx, realm, "UPDATE", "CLIENT", f"clients/{client.id}", rep)
    return empty()


@router.route(R + "/clients/{cu}", "DELETE")
def client_delete(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-clients")
    client = find_client(realm, ctx.params["cu"])
    realm.remove_client(client)
    admin_event(ctx, realm, "DELETE", "CLIENT", f"clients/{client.id}")
    return empty()


@router.route(R + "/clients/{cu}/client-secret", "GET")
def client_secret_get(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-clients")
    client = find_client(realm, ctx.params["cu"])
    body: dict[str, Any] = {"type": "secret"}
    if client.secret:
        body["value"] = client.secret
    return json_response(body)


@router.route(R + "/clients/{cu}/client-secret", "POST")
def client_secret_regenerate(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-clients")
    client = find_client(realm, ctx.params["cu"])
    if client.public:
        raise bad_request("Client is public")
    model.secret_generate(realm, client)
    admin_event(ctx, realm, "ACTION", "CLIENT", f"clients/{client.id}/client-secret")
    return json_response({"type": "secret", "value": client.secret})


@router.route(R + "/clients/{cu}/service-account-user", "GET")
def client_service_account(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-clients")
    client = find_client(realm, ctx.params["cu"])
    if not client.rep.get("serviceAccountsEnabled"):
        raise bad_request(f"Service account not enabled for the client '{client.client_id}'")
    user = model.ensure_service_account(realm, client)
    return json_response(model.user_rep(realm, user))


# -- users ----------------------------------------------------------------------------------------
def _matcher(term: str, exact: bool) -> Any:
    term = term.strip().lower()
    if exact or (len(term) > 1 and term.startswith('"') and term.endswith('"')):
        term = term.strip('"')
        return lambda value: value == term
    if "*" in term:
        return lambda value: fnmatch.fnmatchcase(value, term)
    return lambda value: term in value


def _filter_users(ctx: Ctx, realm: Realm) -> list[User]:
    q = ctx.query
    exact = ctx.bool_query("exact")
    users = realm.sorted_users()
    if q.get("username") is None:
        users = [u for u in users if not u.service_account_client_id]
    search = q.get("search")
    if search:
        term = search.strip().lower()
        if term.startswith('"') and term.endswith('"') and len(term) > 1:
            match = _matcher(term, True)
        elif "*" in term:
            match = _matcher(term, False)
        else:
            prefix = term

            def match(value: str) -> bool:
                return value.startswith(prefix)

        users = [
            u
            for u in users
            if any(
                match(v.lower())
                for v in (u.username, u.email or "", u.first_name or "", u.last_name or "")
                if v
            )
        ]
    for param, getter in (
        ("username", lambda u: u.username),
        ("email", lambda u: u.email or ""),
        ("firstName", lambda u: u.first_name or ""),
        ("lastName", lambda u: u.last_name or ""),
    ):
        value = q.get(param)
        if value is not None:
            match_field = _matcher(value, exact)
            users = [u for u in users if match_field(getter(u).lower())]
    enabled = q.get("enabled")
    if enabled is not None:
        users = [u for u in users if u.enabled == (enabled.lower() == "true")]
    return users


@router.route(R + "/users", "GET")
def users_list(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "query-users")
    if not ctx.auth.has(ctx.store, realm.name, "view-users"):
        return json_response([])
    first, max_ = paging(ctx, 100)
    brief = ctx.bool_query("briefRepresentation")
    users = _filter_users(ctx, realm)[first : first + max_]
    return json_response([model.user_rep(realm, u, brief) for u in users])


@router.route(R + "/users/count", "GET")
def users_count(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "query-users")
    if not ctx.auth.has(ctx.store, realm.name, "view-users"):
        return json_response(0)
    return json_response(len(_filter_users(ctx, realm)))


@router.route(R + "/users", "POST")
def user_create(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    rep = ctx.json_object()
    user = model.create_user(realm, rep)
    for name in rep.get("groups") or []:
        group = next(
            (g for g in realm.groups.values() if model.group_path(realm, g) in (name, "/" + name)),
            None,
        )
        if group is not None:
            group.member_ids.add(user.id)
            user.group_ids.add(group.id)
    admin_event(ctx, realm, "CREATE", "USER", f"users/{user.id}", rep)
    return created(ctx, f"/admin/realms/{realm.name}/users/{user.id}")


@router.route(R + "/users/{uid}", "GET")
def user_get(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    return json_response(model.user_rep(realm, find_user(realm, ctx.params["uid"])))


@router.route(R + "/users/{uid}", "PUT")
def user_update(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    user = find_user(realm, ctx.params["uid"])
    rep = ctx.json_object()
    model.update_user(realm, user, rep)
    admin_event(ctx, realm, "UPDATE", "USER", f"users/{user.id}", rep)
    return empty()


@router.route(R + "/users/{uid}", "DELETE")
def user_delete(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    user = find_user(realm, ctx.params["uid"])
    realm.remove_user(user)
    admin_event(ctx, realm, "DELETE", "USER", f"users/{user.id}")
    return empty()


@router.route(R + "/users/{uid}/reset-password", "PUT")
def user_reset_password(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    user = find_user(realm, ctx.params["uid"])
    rep = ctx.json_object()
    value = rep.get("value")
    if not value:
        raise bad_request("Empty password")
    temporary = bool(rep.get("temporary", False))
    model.set_password(realm, user, str(value), temporary)
    if not temporary and "UPDATE_PASSWORD" in user.required_actions:
        # A password set as final lifts a pending "update your password" (UserResource).
        user.required_actions.remove("UPDATE_PASSWORD")
    # No representation, even with details on: the password never reaches an event.
    admin_event(ctx, realm, "ACTION", "USER", f"users/{user.id}/reset-password")
    return empty()


@router.route(R + "/users/{uid}/credentials", "GET")
def user_credentials(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    user = find_user(realm, ctx.params["uid"])
    if user.password is None:
        return json_response([])
    return json_response(
        [
            {
                "id": user.password_id,
                "type": "password",
                "userLabel": "My password",
                "createdDate": user.password_created_ms,
                "credentialData": '{"hashIterations":5,"algorithm":"argon2","additionalParameters":{}}',  # noqa: E501
            }
        ]
    )


@router.route(R + "/users/{uid}/credentials/{cid}", "DELETE")
def user_credential_delete(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    user = find_user(realm, ctx.params["uid"])
    if user.password is None or ctx.params["cid"] != user.password_id:
        raise HttpError(404, {"error": "Credential not found"})
    user.password = None
    user.password_id = None
    return empty()
