"""Creating and representing realms, clients, users and roles the way Keycloak does."""

from __future__ import annotations

import copy
import re
import secrets
import string
from typing import Any

from tokenadmin.emulator.defaults import (
    ACCOUNT_ROLES,
    CLIENT_OTHER_FIELDS,
    MANAGEMENT_ROLES,
    REALM_DEFAULTS,
    REALM_FIELDS_MIRRORED_IN_ATTRIBUTES,
    REALM_OTHER_FIELDS,
    REALM_REP_OMITTED_WHEN_EMPTY,
    REALM_REP_ONLY_IN_ATTRIBUTES,
    client_defaults,
)
from tokenadmin.emulator.http import HttpError
from tokenadmin.emulator.mappers import mapper_make
from tokenadmin.emulator.store import Client, Group, Realm, Role, Store, User, new_id, stable_id
from tokenadmin.emulator.tokens import realm_keys

INT_FIELDS = frozenset(
    k for k, v in REALM_DEFAULTS.items() if isinstance(v, int) and not isinstance(v, bool)
)


def random_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def check_fields(rep: dict[str, Any], known: frozenset[str] | set[str], cls: str) -> None:
    for key in rep:
        if key not in known:
            raise HttpError(
                400,
                {
                    "error": f'Unrecognized field "{key}" (class org.keycloak.representations.idm.'
                    f"{cls}), not marked as ignorable"
                },
            )


# -- realms --------------------------------------------------------------------------------------
def _role(
    realm: Realm, name: str, client: Client | None = None, stable: bool = True, **kw: Any
) -> Role:
    container = client.id if client else realm.id
    rid = (
        stable_id(realm.name, client.client_id if client else "", "role", name)
        if stable
        else new_id()
    )
    return realm.add_role(Role(rid, name, container, client_role=client is not None, **kw), client)


def create_realm(store: Store, name: str, rep: dict[str, Any] | None = None) -> Realm:
    rep = dict(rep or {})
    realm_id = rep.pop("id", None) or stable_id("realm", name)
    realm = Realm(realm_id, name, realm_keys(name), store.clock)
    store.realms[name] = realm
    if name == "master":
        realm.rep["accessTokenLifespan"] = 60
    # Realm roles: default-roles-<realm> (composite of offline_access, uma_authorization and
    # account's view-profile, manage-account), offline_access, uma_authorization.
    offline = _role(realm, "offline_access", description="${role_offline-access}")
    uma = _role(realm, "uma_authorization", description="${role_uma_authorization}")
    default = _role(realm, f"default-roles-{name}", description="${role_default-roles}")
    default.composite_ids |= {offline.id, uma.id}
    realm.default_role = default
    account = builtin_client(realm, "account", public=True, base=f"/realms/{name}/account/")
    for role_name in ACCOUNT_ROLES:
        _role(realm, role_name, account)
    account.roles["manage-account"].composite_ids.add(account.roles["manage-account-links"].id)
    account.roles["manage-consent"].composite_ids.add(account.roles["view-consent"].id)
    default.composite_ids |= {account.roles["view-profile"].id, account.roles["manage-account"].id}
    builtin_client(realm, "account-console", public=True)
    admin_cli = builtin_client(realm, "admin-cli", public=True)
    admin_cli.rep["standardFlowEnabled"] = False
    builtin_client(realm, "broker", bearer=True)
    console = builtin_client(realm, "security-admin-console", public=True)
    console.rep["redirectUris"] = [f"/admin/{name}/console/*"]
    console.rep["webOrigins"] = ["+"]
    if name == "master":
        create_realm_role = _role(realm, "create-realm", description="${role_create-realm}")
        admin_role = _role(realm, "admin", description="${role_admin}")
        admin_role.composite_ids.add(create_realm_role.id)
        for other in store.realms.values():
            if other is not realm:
                _management_client(store, other)
    else:
        mgmt = builtin_client(realm, "realm-management", bearer=True)
        _management_roles(realm, mgmt)
    _management_client(store, realm)
    apply_realm_rep(realm, rep, creating=True)
    return realm


SECRET_CREATION_TIME = "client.secret.creation.time"


def secret_generate(realm: Realm, client: Client) -> str:
    """A new secret, its creation time kept as Keycloak's generateSecret does (epoch seconds
    in the client attribute `client.secret.creation.time`)."""
    client.secret = random_secret()
    client.rep["attributes"] = {
        **client.rep["attributes"],
        SECRET_CREATION_TIME: str(realm.clock.now()),
    }
    return client.secret


def builtin_client(
    realm: Realm,
    client_id: str,
    public: bool = False,
    bearer: bool = False,
    base: str | None = None,
) -> Client:
    client = Client(stable_id(realm.name, "client", client_id), client_id, builtin=True)
    client.rep.update(
        {
            "name": "${client_" + client_id + "}",
            "publicClient": public,
            "bearerOnly": bearer,
            "directAccessGrantsEnabled": client_id == "admin-cli",
            "standardFlowEnabled": not bearer,
            "fullScopeAllowed": client_id
            not in ("account", "account-console", "security-admin-console"),
        }
    )
    # Keycloak flags the clients that serve the realm itself (broker, realm-management).
    realm_client = client_id in ("broker", "realm-management")
    client.rep["attributes"] = {
        **client.rep["attributes"],
        "realm_client": str(realm_client).lower(),
    }
    if base:
        client.rep["baseUrl"] = base
        client.rep["redirectUris"] = [base + "*"]
    if not public and not bearer:
        secret_generate(realm, client)
    return realm.add_client(client)


def _management_roles(realm: Realm, client: Client) -> None:
    roles = {n: _role(realm, n, client, description="${role_" + n + "}") for n in MANAGEMENT_ROLES}
    roles["view-users"].composite_ids |= {roles["query-users"].id, roles["query-groups"].id}
    roles["view-clients"].composite_ids.add(roles["query-clients"].id)
    admin = _role(realm, "realm-admin", client, description="${role_realm-admin}")
    admin.composite_ids |= {r.id for r in roles.values()}


def _management_client(store: Store, target: Realm) -> None:
    """The <realm>-realm client in master; master's admin role holds all of its roles."""
    master = store.realms.get("master")
    if master is None:
        return
    client_id = f"{target.name}-realm"
    if client_id in master.client_by_client_id:
        return
    client = Client(stable_id("master", "client", client_id), client_id, builtin=True)
    client.rep.update(
        {"name": f"{target.name} Realm", "bearerOnly": True, "standardFlowEnabled": True}
    )
    client.rep["attributes"] = {**client.rep["attributes"], "realm_client": "true"}
    master.add_client(client)
    roles = {n: _role(master, n, client, description="${role_" + n + "}") for n in MANAGEMENT_ROLES}
    roles["view-users"].composite_ids |= {roles["query-users"].id, roles["query-groups"].id}
    roles["view-clients"].composite_ids.add(roles["query-clients"].id)
    master.roles["admin"].composite_ids |= {r.id for r in roles.values()}


def delete_realm(store: Store, realm: Realm) -> None:
    store.realms.pop(realm.name, None)
    master = store.realms.get("master")
    if master is not None:
        client = master.client_by_client_id.get(f"{realm.name}-realm")
        if client is not None:
            master.remove_client(client)


def apply_realm_rep(realm: Realm, rep: dict[str, Any], creating: bool = False) -> None:
    """Partial update as Keycloak's PUT: absent fields kept, attributes replaced, device fields reset."""  # noqa: E501
    check_fields(rep, set(REALM_DEFAULTS) | REALM_OTHER_FIELDS, "RealmRepresentation")
    for key in ("AccessCodeLifespanLogin", "AccessCodeLifespanUserAction"):
        field_name = key[0].lower() + key[1:]
        if field_name in rep and rep[field_name] is not None and int(float(rep[field_name])) == 0:
            raise HttpError(
                400,
                {
                    "errorMessage": "AccessCodeLifespanLogin or AccessCodeLifespanUserAction cannot be 0"  # noqa: E501
                },
            )
    for key, value in rep.items():
        if key in ("id", "realm") or key not in REALM_DEFAULTS or value is None:
            continue
        if key in INT_FIELDS:
            try:
                value = int(float(value))
            except (TypeError, ValueError):
                raise HttpError(400, {"error": "Cannot parse the JSON"}) from None
        if key == "attributes":
            value = {str(k): str(v) for k, v in value.items()}
        realm.rep[key] = copy.deepcopy(value)
    if not creating:
        realm.rep["oauth2DeviceCodeLifespan"] = int(
            float(rep.get("oauth2DeviceCodeLifespan") or 600)
        )
        realm.rep["oauth2DevicePollingInterval"] = int(
            float(rep.get("oauth2DevicePollingInterval") or 5)
        )
    for key in ("cibaBackchannelTokenDeliveryMode", "cibaAuthRequestedUserHint"):
        realm.rep["attributes"][key] = str(realm.rep[key])
    for key in ("cibaExpiresIn", "cibaInterval", "parRequestUriLifespan"):
        realm.rep["attributes"][key] = str(realm.rep[key])
    mirrored = ["oauth2DeviceCodeLifespan", "oauth2DevicePollingInterval"]
    if not creating:
        mirrored += [k for k in REALM_FIELDS_MIRRORED_IN_ATTRIBUTES if rep.get(k) is not None]
    for key in mirrored:
        value = realm.rep[key]
        realm.rep["attributes"][key] = str(value).lower() if isinstance(value, bool) else str(value)


def realm_rep(realm: Realm) -> dict[str, Any]:
    out: dict[str, Any] = {"id": realm.id, "realm": realm.name}
    for key, value in realm.rep.items():
        if value is None or key in REALM_REP_ONLY_IN_ATTRIBUTES:
            continue
        if key in REALM_REP_OMITTED_WHEN_EMPTY and not value:
            continue
        out[key] = copy.deepcopy(value)
    if realm.default_role is not None:
        out["defaultRole"] = realm.default_role.rep() | {"description": "${role_default-roles}"}
    return out


def realm_brief_rep(realm: Realm) -> dict[str, Any]:
    out: dict[str, Any] = {"id": realm.id, "realm": realm.name}
    for key in (
        "displayName",
        "displayNameHtml",
        "internationalizationEnabled",
        "supportedLocales",
        "bruteForceProtected",
        "registrationEmailAsUsername",
        "editUsernameAllowed",
    ):
        if realm.rep.get(key) is not None:
            out[key] = realm.rep[key]
    return out


# -- clients -------------------------------------------------------------------------------------
def create_client(realm: Realm, rep: dict[str, Any], stable: bool = False) -> Client:
    check_fields(rep, set(client_defaults()) | CLIENT_OTHER_FIELDS, "ClientRepresentation")
    client_id = rep.get("clientId")
    if not client_id:
        raise HttpError(400, {"errorMessage": "Client id is required"})
    if client_id in realm.client_by_client_id:
        raise HttpError(409, {"errorMessage": f"Client {client_id} already exists"})
    cid = rep.get("id") or (stable_id(realm.name, "client", client_id) if stable else new_id())
    client = Client(cid, client_id)
    apply_client_rep(realm, client, rep)
    client.protocol_mappers = [mapper_make(m) for m in rep.get("protocolMappers") or []]
    client.rep["attributes"].setdefault("realm_client", "false")
    if rep.get("webOrigins") is None:
        # Keycloak derives the web origins of a new client from its redirect URIs.
        client.rep["webOrigins"] = _origins(rep.get("redirectUris") or [])
    if not client.public and not client.rep.get("bearerOnly") and not client.secret:
        secret_generate(realm, client)
    realm.add_client(client)
    if client.rep.get("serviceAccountsEnabled"):
        ensure_service_account(realm, client, stable)
    return client


def _origins(uris: list[str]) -> list[str]:
    found: list[str] = []
    for uri in uris:
        match = re.match(r"^(https?://[^/?#]+)", uri)
        if match and "*" not in match.group(1) and match.group(1) not in found:
            found.append(match.group(1))
    return found


def apply_client_rep(realm: Realm, client: Client, rep: dict[str, Any]) -> None:
    check_fields(rep, set(client_defaults()) | CLIENT_OTHER_FIELDS, "ClientRepresentation")
    new_client_id = rep.get("clientId")
    if new_client_id and new_client_id != client.client_id:
        if new_client_id in realm.client_by_client_id:
            raise HttpError(409, {"errorMessage": f"Client {new_client_id} already exists"})
        realm.client_by_client_id.pop(client.client_id, None)
        client.client_id = new_client_id
        realm.client_by_client_id[new_client_id] = client
    for key, value in rep.items():
        if key in client.rep and value is not None:
            if key == "attributes":
                value = {**client.rep["attributes"], **{str(k): str(v) for k, v in value.items()}}
                # A blank attribute is removed, not kept as "" (the console clears it so).
                value = {k: v for k, v in value.items() if v.strip()}
            if key == "notBefore":
                value = int(float(value))
            client.rep[key] = copy.deepcopy(value)
    if rep.get("secret"):
        client.secret = str(rep["secret"])
    if client.public:
        client.secret = None


def ensure_service_account(realm: Realm, client: Client, stable: bool = False) -> User:
    if client.service_account_user_id and client.service_account_user_id in realm.users:
        return realm.users[client.service_account_user_id]
    username = f"service-account-{client.client_id}".lower()
    uid = stable_id(realm.name, "user", username) if stable else new_id()
    user = User(uid, username, realm.clock.now_ms(), enabled=True)
    user.service_account_client_id = client.id
    if realm.default_role:
        user.role_ids.add(realm.default_role.id)
    realm.add_user(user)
    client.service_account_user_id = user.id
    return user


def client_rep(client: Client, full: bool = True) -> dict[str, Any]:
    if not full:
        return {"id": client.id, "clientId": client.client_id}
    out: dict[str, Any] = {"id": client.id, "clientId": client.client_id}
    for key, value in client.rep.items():
        if value is not None:
            out[key] = copy.deepcopy(value)
    if client.secret and not client.public:
        out["secret"] = client.secret
    if client.protocol_mappers:
        out["protocolMappers"] = copy.deepcopy(client.protocol_mappers)
    out["access"] = {"view": True, "configure": True, "manage": True}
    return out


# -- users ---------------------------------------------------------------------------------------
USER_FIELDS = frozenset(
    [
        "id",
        "username",
        "firstName",
        "lastName",
        "email",
        "emailVerified",
        "enabled",
        "attributes",
        "credentials",
        "requiredActions",
        "groups",
        "realmRoles",
        "clientRoles",
        "createdTimestamp",
        "totp",
        "notBefore",
        "access",
        "disableableCredentialTypes",
        "federationLink",
        "serviceAccountClientId",
        "clientConsents",
        "origin",
        "self",
        "federatedIdentities",
        "socialLinks",
        "applicationRoles",
        "userProfileMetadata",
    ]
)


def create_user(realm: Realm, rep: dict[str, Any], stable: bool = False) -> User:
    check_fields(rep, USER_FIELDS, "UserRepresentation")
    username = str(rep.get("username") or "").strip().lower()
    if not username:
        if realm.rep.get("registrationEmailAsUsername") and rep.get("email"):
            username = str(rep["email"]).lower()
        else:
            raise HttpError(
                400, {"errorMessage": "error-user-attribute-required", "field": "username"}
            )
    if username in realm.user_by_name:
        raise HttpError(409, {"errorMessage": "User exists with same username"})
    email = rep.get("email") or None
    if (
        email
        and not realm.rep.get("duplicateEmailsAllowed")
        and email.lower() in realm.user_by_email
    ):
        raise HttpError(409, {"errorMessage": "User exists with same email"})
    uid = rep.get("id") or (stable_id(realm.name, "user", username) if stable else new_id())
    user = User(uid, username, int(rep.get("createdTimestamp") or realm.clock.now_ms()))
    user.enabled = bool(rep.get("enabled", False))
    user.email = email
    user.first_name = rep.get("firstName")
    user.last_name = rep.get("lastName")
    user.email_verified = bool(rep.get("emailVerified", False))
    user.attributes = {
        k: list(v) if isinstance(v, list) else [str(v)]
        for k, v in (rep.get("attributes") or {}).items()
    }
    user.required_actions = list(rep.get("requiredActions") or [])
    if realm.default_role:
        user.role_ids.add(realm.default_role.id)
    for cred in rep.get("credentials") or []:
        if (
            isinstance(cred, dict)
            and cred.get("type", "password") == "password"
            and cred.get("value") is not None
        ):
            set_password(realm, user, str(cred["value"]), bool(cred.get("temporary", False)))
    realm.add_user(user)
    return user


def set_password(realm: Realm, user: User, value: str, temporary: bool = False) -> None:
    user.password = value
    user.password_created_ms = realm.clock.now_ms()
    user.password_id = new_id()
    if temporary and "UPDATE_PASSWORD" not in user.required_actions:
        user.required_actions.append("UPDATE_PASSWORD")


def update_user(realm: Realm, user: User, rep: dict[str, Any]) -> None:
    check_fields(rep, USER_FIELDS, "UserRepresentation")
    username = rep.get("username")
    if username is not None:
        username = str(username).strip().lower()
        if username != user.username and username in realm.user_by_name:
            raise HttpError(409, {"errorMessage": "User exists with same username"})
    email = rep.get("email")
    if email and email.lower() != (user.email or "").lower():
        other = realm.user_by_email.get(email.lower())
        if other is not None and other is not user and not realm.rep.get("duplicateEmailsAllowed"):
            raise HttpError(409, {"errorMessage": "User exists with same email"})
    realm.rename_user(user, username, email)
    if "firstName" in rep:
        user.first_name = rep["firstName"]
    if "lastName" in rep:
        user.last_name = rep["lastName"]
    if rep.get("enabled") is not None:
        user.enabled = bool(rep["enabled"])
    if rep.get("emailVerified") is not None:
        user.email_verified = bool(rep["emailVerified"])
    if rep.get("attributes") is not None:
        user.attributes = {
            k: list(v) if isinstance(v, list) else [str(v)] for k, v in rep["attributes"].items()
        }
    if rep.get("requiredActions") is not None:
        user.required_actions = list(rep["requiredActions"])
    for cred in rep.get("credentials") or []:
        if isinstance(cred, dict) and cred.get("value") is not None:
            set_password(realm, user, str(cred["value"]), bool(cred.get("temporary", False)))


def user_rep(realm: Realm, user: User, brief: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": user.id, "username": user.username}
    if user.first_name is not None:
        out["firstName"] = user.first_name
    if user.last_name is not None:
        out["lastName"] = user.last_name
    if user.email is not None:
        out["email"] = user.email
    out["emailVerified"] = user.email_verified
    if user.attributes and not brief:
        out["attributes"] = copy.deepcopy(user.attributes)
    out["createdTimestamp"] = user.created_ms
    out["enabled"] = user.enabled
    out["totp"] = False
    if user.service_account_client_id:
        out["serviceAccountClientId"] = user.service_account_client_id
    out["disableableCredentialTypes"] = []
    out["requiredActions"] = list(user.required_actions)
    out["notBefore"] = user.not_before
    if not brief:
        out["access"] = {
            "manageGroupMembership": True,
            "view": True,
            "mapRoles": True,
            "impersonate": True,
            "manage": True,
        }
    return out


# -- groups --------------------------------------------------------------------------------------
def group_path(realm: Realm, group: Group) -> str:
    parts = [group.name]
    parent = realm.groups.get(group.parent_id) if group.parent_id else None
    while parent is not None:
        parts.append(parent.name)
        parent = realm.groups.get(parent.parent_id) if parent.parent_id else None
    return "/" + "/".join(reversed(parts))


def group_rep(realm: Realm, group: Group, brief: bool = True) -> dict[str, Any]:
    children = [g for g in realm.groups.values() if g.parent_id == group.id]
    out: dict[str, Any] = {"id": group.id, "name": group.name, "path": group_path(realm, group)}
    if group.parent_id:
        out["parentId"] = group.parent_id
    out["subGroupCount"] = len(children)
    out["subGroups"] = []
    if not brief:
        out["attributes"] = copy.deepcopy(group.attributes)
        out["realmRoles"] = sorted(
            realm.role_by_id[r].name for r in group.role_ids if not realm.role_by_id[r].client_role
        )
        client_roles: dict[str, list[str]] = {}
        for rid in group.role_ids:
            role = realm.role_by_id[rid]
            if role.client_role:
                client_roles.setdefault(realm.clients[role.container_id].client_id, []).append(
                    role.name
                )
        out["clientRoles"] = client_roles
    out["access"] = {
        "view": True,
        "viewMembers": True,
        "manageMembers": True,
        "manage": True,
        "manageMembership": True,
    }
    return out


def create_group(
    realm: Realm, rep: dict[str, Any], parent: Group | None = None, stable: bool = False
) -> Group:
    name = str(rep.get("name") or "").strip()
    if not name:
        raise HttpError(400, {"errorMessage": "Group name is missing"})
    parent_id = parent.id if parent else None
    for other in realm.groups.values():
        if other.name == name and other.parent_id == parent_id:
            raise HttpError(
                409, {"errorMessage": f"Top level group named '{name}' already exists."}
            )
    gid = rep.get("id") or (stable_id(realm.name, "group", name) if stable else new_id())
    group = Group(gid, name, parent_id)
    group.attributes = {k: list(v) for k, v in (rep.get("attributes") or {}).items()}
    realm.groups[gid] = group
    return group
