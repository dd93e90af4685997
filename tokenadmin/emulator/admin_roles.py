"""Admin REST: realm and client roles, user role mappings, groups and membership."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from tokenadmin.emulator import model
from tokenadmin.emulator.admin_common import (
    admin_event,
    admin_realm,
    bad_request,
    find_client,
    find_group,
    find_role,
    find_user,
    paging,
    require,
    require_any,
)
from tokenadmin.emulator.http import Ctx, HttpError, Router, empty, json_response, not_found
from tokenadmin.emulator.store import Role, new_id

if TYPE_CHECKING:
    from tokenadmin.emulator.store import Client, Group, Realm

router = Router()
R = "/admin/realms/{realm}"


def _container(ctx: Ctx, realm: Realm) -> Client | None:
    cu = ctx.params.get("cu")
    return find_client(realm, cu) if cu else None


def _manage_right(client: Client | None) -> str:
    return "manage-clients" if client else "manage-realm"


def _roles_list(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require_any(ctx, realm.name)
    client = _container(ctx, realm)
    roles = sorted((client.roles if client else realm.roles).values(), key=lambda r: r.name)
    search = ctx.query.get("search")
    if search:
        roles = [r for r in roles if search.lower() in r.name.lower()]
    first, max_ = paging(ctx, 10**9)
    return json_response([r.rep() for r in roles[first : first + max_]])


def _role_create(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    client = _container(ctx, realm)
    require(ctx, realm.name, _manage_right(client))
    rep = ctx.json_object()
    name = str(rep.get("name") or "").strip()
    if not name:
        raise bad_request("Role name is missing")
    if name in (client.roles if client else realm.roles):
        raise HttpError(409, {"errorMessage": f"Role with name {name} already exists"})
    role = Role(
        new_id(),
        name,
        client.id if client else realm.id,
        client_role=client is not None,
        description=rep.get("description"),
        attributes=dict(rep.get("attributes") or {}),
    )
    realm.add_role(role, client)
    base = f"/admin/realms/{realm.name}" + (f"/clients/{client.id}" if client else "")
    admin_event(
        ctx, realm, "CREATE", "CLIENT_ROLE" if client else "REALM_ROLE", f"roles/{name}", rep
    )
    return empty(201, {"Location": f"{ctx.base_url}{base}/roles/{name}"})


def _role_get(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require_any(ctx, realm.name)
    role = find_role(realm, ctx.params["role"], _container(ctx, realm))
    return json_response(role.rep() | {"attributes": role.attributes})


def _role_update(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    client = _container(ctx, realm)
    require(ctx, realm.name, _manage_right(client))
    role = find_role(realm, ctx.params["role"], client)
    rep = ctx.json_object()
    if "description" in rep:
        role.description = rep["description"]
    if rep.get("attributes") is not None:
        role.attributes = dict(rep["attributes"])
    new_name = rep.get("name")
    if new_name and new_name != role.name:
        roles = client.roles if client else realm.roles
        roles.pop(role.name, None)
        role.name = new_name
        roles[new_name] = role
    return empty()


def _role_delete(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    client = _container(ctx, realm)
    require(ctx, realm.name, _manage_right(client))
    role = find_role(realm, ctx.params["role"], client)
    if realm.default_role is role:
        raise bad_request("You cannot delete a default role")
    realm.remove_role(role, client)
    return empty()


def _resolve(realm: Realm, reps: list[Any], client: Client | None = None) -> list[Role]:
    roles = []
    for rep in reps:
        if not isinstance(rep, dict):
            raise HttpError(400, {"error": "Cannot parse the JSON"})
        role = realm.role_by_id.get(str(rep.get("id"))) if rep.get("id") else None
        if role is None and rep.get("name"):
            role = (client.roles if client else realm.roles).get(str(rep["name"]))
        if role is None:
            raise not_found("Could not find role")
        roles.append(role)
    return roles


def _composites_get(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require_any(ctx, realm.name)
    role = find_role(realm, ctx.params["role"], _container(ctx, realm))
    return json_response(
        [realm.role_by_id[r].rep() for r in sorted(role.composite_ids) if r in realm.role_by_id]
    )


def _composites_add(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    client = _container(ctx, realm)
    require(ctx, realm.name, _manage_right(client))
    role = find_role(realm, ctx.params["role"], client)
    role.composite_ids |= {r.id for r in _resolve(realm, ctx.json_list())}
    return empty()


def _composites_remove(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    client = _container(ctx, realm)
    require(ctx, realm.name, _manage_right(client))
    role = find_role(realm, ctx.params["role"], client)
    role.composite_ids -= {r.id for r in _resolve(realm, ctx.json_list())}
    return empty()


def _role_users(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    role = find_role(realm, ctx.params["role"], _container(ctx, realm))
    first, max_ = paging(ctx, 100)
    users = [u for u in realm.sorted_users() if role.id in u.role_ids]
    return json_response([model.user_rep(realm, u, True) for u in users[first : first + max_]])


for prefix in (R, R + "/clients/{cu}"):
    router.add(prefix + "/roles", "GET", _roles_list)
    router.add(prefix + "/roles", "POST", _role_create)
    router.add(prefix + "/roles/{role}", "GET", _role_get)
    router.add(prefix + "/roles/{role}", "PUT", _role_update)
    router.add(prefix + "/roles/{role}", "DELETE", _role_delete)
    router.add(prefix + "/roles/{role}/composites", "GET", _composites_get)
    router.add(prefix + "/roles/{role}/composites", "POST", _composites_add)
    router.add(prefix + "/roles/{role}/composites", "DELETE", _composites_remove)
    router.add(prefix + "/roles/{role}/users", "GET", _role_users)


@router.route(R + "/roles-by-id/{rid}", "GET")
def role_by_id(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require_any(ctx, realm.name)
    role = realm.role_by_id.get(ctx.params["rid"])
    if role is None:
        raise not_found("Could not find role with id")
    return json_response(role.rep() | {"attributes": role.attributes})


# -- role mappings (users and groups)--------------------------------------------------------------
def _holder(ctx: Ctx, realm: Realm) -> Any:
    if "uid" in ctx.params:
        return find_user(realm, ctx.params["uid"])
    return find_group(realm, ctx.params["gid"])


def _mappings_all(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    holder = _holder(ctx, realm)
    realm_roles = [
        realm.role_by_id[r]
        for r in holder.role_ids
        if r in realm.role_by_id and not realm.role_by_id[r].client_role
    ]
    body: dict[str, Any] = {}
    if realm_roles:
        body["realmMappings"] = [r.rep() for r in sorted(realm_roles, key=lambda r: r.name)]
    clients: dict[str, Any] = {}
    for rid in holder.role_ids:
        role = realm.role_by_id.get(rid)
        if role is None or not role.client_role:
            continue
        client = realm.clients[role.container_id]
        entry = clients.setdefault(
            client.client_id, {"id": client.id, "client": client.client_id, "mappings": []}
        )
        entry["mappings"].append(role.rep())
    if clients:
        body["clientMappings"] = clients
    return json_response(body)


def _mapped(ctx: Ctx, composite: bool, available: bool) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    holder = _holder(ctx, realm)
    client = _container(ctx, realm)
    pool = (client.roles if client else realm.roles).values()
    ids = holder.role_ids
    if composite:
        ids = (
            realm.user_role_ids(holder)
            if hasattr(holder, "group_ids")
            else realm.expand_roles(holder.role_ids)
        )
    roles = [r for r in pool if (r.id in ids) != available]
    return json_response([r.rep() for r in sorted(roles, key=lambda r: r.name)])


def _mapping_change(ctx: Ctx, add: bool) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    holder = _holder(ctx, realm)
    client = _container(ctx, realm)
    roles = _resolve(realm, ctx.json_list(), client)
    ids = {r.id for r in roles}
    if add:
        holder.role_ids |= ids
    else:
        holder.role_ids -= ids
    kind = "users" if "uid" in ctx.params else "groups"
    path = f"{kind}/{holder.id}/role-mappings/" + (f"clients/{client.id}" if client else "realm")
    admin_event(
        ctx,
        realm,
        "CREATE" if add else "DELETE",
        "CLIENT_ROLE_MAPPING" if client else "REALM_ROLE_MAPPING",
        path,
        [r.rep() for r in roles],
    )
    return empty()


for holder_prefix in (R + "/users/{uid}", R + "/groups/{gid}"):
    router.add(holder_prefix + "/role-mappings", "GET", _mappings_all)
    for target in ("/role-mappings/realm", "/role-mappings/clients/{cu}"):
        router.add(holder_prefix + target, "GET", lambda ctx: _mapped(ctx, False, False))
        router.add(
            holder_prefix + target + "/composite", "GET", lambda ctx: _mapped(ctx, True, False)
        )
        router.add(
            holder_prefix + target + "/available", "GET", lambda ctx: _mapped(ctx, False, True)
        )
        router.add(holder_prefix + target, "POST", lambda ctx: _mapping_change(ctx, True))
        router.add(holder_prefix + target, "DELETE", lambda ctx: _mapping_change(ctx, False))


# -- groups----------------------------------------------------------------------------------------
@router.route(R + "/groups", "GET")
def groups_list(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "query-groups")
    search = ctx.query.get("search")
    first, max_ = paging(ctx, 100)
    groups = sorted((g for g in realm.groups.values() if g.parent_id is None), key=lambda g: g.name)
    brief = ctx.bool_query("briefRepresentation", True)
    if not search:
        page = groups[first : first + max_]
        return json_response([model.group_rep(realm, g, brief) for g in page])
    # A search finds subgroups too: each top group on a path to a match, with `subGroups`
    # holding only the branches that lead to matches (26.7.3, tests/parity groups_and_members).
    found = [rep for g in groups if (rep := _group_matching(realm, g, search.lower(), brief))]
    return json_response(found[first : first + max_])


def _group_matching(realm: Realm, group: Group, needle: str, brief: bool) -> dict | None:
    children = sorted(
        (g for g in realm.groups.values() if g.parent_id == group.id), key=lambda g: g.name
    )
    below = [rep for g in children if (rep := _group_matching(realm, g, needle, brief))]
    if not below and needle not in group.name.lower():
        return None
    rep = model.group_rep(realm, group, brief)
    rep["subGroups"] = below
    return rep


@router.route(R + "/groups/count", "GET")
def groups_count(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "query-groups")
    return json_response({"count": sum(1 for g in realm.groups.values() if g.parent_id is None)})


@router.route(R + "/groups", "POST")
def group_create(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    group = model.create_group(realm, ctx.json_object())
    admin_event(ctx, realm, "CREATE", "GROUP", f"groups/{group.id}")
    return empty(201, {"Location": f"{ctx.base_url}/admin/realms/{realm.name}/groups/{group.id}"})


@router.route(R + "/groups/{gid}/children", "POST")
def group_child_create(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    parent = find_group(realm, ctx.params["gid"])
    group = model.create_group(realm, ctx.json_object(), parent)
    return empty(201, {"Location": f"{ctx.base_url}/admin/realms/{realm.name}/groups/{group.id}"})


@router.route(R + "/groups/{gid}/children", "GET")
def group_children(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "query-groups")
    parent = find_group(realm, ctx.params["gid"])
    children = sorted(
        (g for g in realm.groups.values() if g.parent_id == parent.id), key=lambda g: g.name
    )
    return json_response([model.group_rep(realm, g) for g in children])


@router.route(R + "/groups/{gid}", "GET")
def group_get(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    return json_response(model.group_rep(realm, find_group(realm, ctx.params["gid"]), brief=False))


@router.route(R + "/groups/{gid}", "PUT")
def group_update(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    group = find_group(realm, ctx.params["gid"])
    rep = ctx.json_object()
    if rep.get("name"):
        group.name = str(rep["name"])
    if rep.get("attributes") is not None:
        group.attributes = {k: list(v) for k, v in rep["attributes"].items()}
    return empty()


@router.route(R + "/groups/{gid}", "DELETE")
def group_delete(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    group = find_group(realm, ctx.params["gid"])
    doomed = [group]
    i = 0
    while i < len(doomed):
        doomed += [g for g in realm.groups.values() if g.parent_id == doomed[i].id]
        i += 1
    for g in doomed:
        for uid in g.member_ids:
            if uid in realm.users:
                realm.users[uid].group_ids.discard(g.id)
        realm.groups.pop(g.id, None)
    return empty()


@router.route(R + "/groups/{gid}/members", "GET")
def group_members(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    group = find_group(realm, ctx.params["gid"])
    first, max_ = paging(ctx, 100)
    members = sorted(
        (realm.users[u] for u in group.member_ids if u in realm.users), key=lambda u: u.username
    )
    brief = ctx.bool_query("briefRepresentation")
    return json_response([model.user_rep(realm, u, brief) for u in members[first : first + max_]])


@router.route(R + "/users/{uid}/groups", "GET")
def user_groups(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    user = find_user(realm, ctx.params["uid"])
    groups = sorted(
        (realm.groups[g] for g in user.group_ids if g in realm.groups), key=lambda g: g.name
    )
    return json_response([model.group_rep(realm, g) for g in groups])


@router.route(R + "/users/{uid}/groups/count", "GET")
def user_groups_count(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    user = find_user(realm, ctx.params["uid"])
    return json_response({"count": len(user.group_ids)})


@router.route(R + "/users/{uid}/groups/{gid}", "PUT")
def user_group_join(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    user = find_user(realm, ctx.params["uid"])
    group = find_group(realm, ctx.params["gid"])
    user.group_ids.add(group.id)
    group.member_ids.add(user.id)
    admin_event(ctx, realm, "CREATE", "GROUP_MEMBERSHIP", f"users/{user.id}/groups/{group.id}")
    return empty()


@router.route(R + "/users/{uid}/groups/{gid}", "DELETE")
def user_group_leave(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    user = find_user(realm, ctx.params["uid"])
    group = find_group(realm, ctx.params["gid"])
    user.group_ids.discard(group.id)
    group.member_ids.discard(user.id)
    admin_event(ctx, realm, "DELETE", "GROUP_MEMBERSHIP", f"users/{user.id}/groups/{group.id}")
    return empty()
