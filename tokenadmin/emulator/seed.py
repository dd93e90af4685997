"""Start-up state: bootstrap admin, the demo seed, realm-export import, bulk sessions."""

from __future__ import annotations

import json
import logging
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenadmin.emulator import model
from tokenadmin.emulator.defaults import REALM_DEFAULTS
from tokenadmin.emulator.sessions import pos
from tokenadmin.emulator.store import Client, Realm, Store, User, new_id, stable_id

SUBNETS = ("10.0.{}.{}", "10.10.{}.{}", "192.168.{}.{}", "172.16.{}.{}")
log = logging.getLogger("tokenadmin.emulator")


@dataclass
class SeedConfig:
    demo: bool = False
    imports: list[dict[str, Any]] = field(default_factory=list)
    sessions: int = 0
    admin_username: str = "admin"
    admin_password: str = "admin"

    @classmethod
    def from_env(cls, **kw: Any) -> SeedConfig:
        return cls(
            admin_username=os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
            admin_password=os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin"),
            **kw,
        )


def build_store(config: SeedConfig) -> Store:
    store = Store()
    master = model.create_realm(store, "master")
    admin = _user(master, config.admin_username, config.admin_password, email=False)
    admin.role_ids.add(master.roles["admin"].id)
    if config.demo:
        seed_demo(store)
    for rep in config.imports:
        name = str(rep.get("realm"))
        if store.realm(name) is not None:
            # Keycloak's --import-realm uses IGNORE_EXISTING: an existing realm is left alone.
            log.info("Realm '%s' already exists. Import skipped", name)
            continue
        import_realm(store, rep, strict=False)
    if config.sessions:
        rng = random.Random(4242)
        if config.demo:
            half = config.sessions // 2
            seed_bulk(store, "mlflow", max(half // 2, 1), half, 0.2, ["mlflow"], rng)
            rest = config.sessions - half
            seed_bulk(
                store,
                "master",
                max(rest // 2, 1),
                rest,
                0.2,
                ["api-client", "sdk-client", "tokenadmin"],
                rng,
            )
        else:
            for realm in list(store.realms.values()):
                share = config.sessions // len(store.realms)
                seed_bulk(store, realm.name, max(share // 2, 1), share, 0.2, None, rng)
    return store


def _user(
    realm: Realm,
    username: str,
    password: str | None,
    email: bool = True,
    first: str | None = None,
    last: str | None = None,
) -> User:
    rep: dict[str, Any] = {"username": username, "enabled": True}
    if email:
        rep.update({"email": f"{username}@example.com", "emailVerified": True})
    if first:
        rep["firstName"] = first
    if last:
        rep["lastName"] = last
    if password is not None:
        rep["credentials"] = [{"type": "password", "value": password}]
    return model.create_user(realm, rep, stable=True)


def _client(realm: Realm, rep: dict[str, Any]) -> Client:
    return model.create_client(realm, rep, stable=True)


def _grant(master: Realm, user: User, client_id: str, roles: list[str]) -> None:
    client = master.client_by_client_id[client_id]
    user.role_ids |= {client.roles[name].id for name in roles}


OPERATOR_ROLES = [
    "view-realm",
    "manage-realm",
    "view-users",
    "manage-users",
    "view-clients",
    "manage-clients",
    "view-events",
]
WORKER_ROLES = [
    "view-realm",
    "view-users",
    "view-clients",
    "view-events",
    "manage-users",
    "manage-realm",
    "manage-clients",
]


# The `tokenadmin` command line (tokenadmin/cli): a public client signing in with the device
# grant, its access tokens meant for tokenadmin (the API checks the audience).
CLI_CLIENT: dict[str, Any] = {
    "clientId": "tokenadmin-cli",
    "name": "tokenadmin command line",
    "publicClient": True,
    "standardFlowEnabled": False,
    "directAccessGrantsEnabled": False,
    "attributes": {"oauth2.device.authorization.grant.enabled": "true"},
    "protocolMappers": [
        {
            "name": "audience tokenadmin",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {
                "included.client.audience": "tokenadmin",
                "access.token.claim": "true",
                "id.token.claim": "false",
                "introspection.token.claim": "true",
            },
        }
    ],
}


def seed_demo(store: Store) -> None:
    mlflow = model.create_realm(store, "mlflow")
    mlflow.rep["rememberMe"] = True
    master = store.realms["master"]
    master.rep["rememberMe"] = True
    _client(
        master,
        {
            "clientId": "tokenadmin",
            "name": "tokenadmin dashboard",
            "secret": "tokenadmin-dev-secret",
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": True,
            "redirectUris": ["http://127.0.0.1/*", "http://localhost/*"],
            "webOrigins": ["+"],
            "attributes": {"post.logout.redirect.uris": "+", "pkce.code.challenge.method": "S256"},
        },
    )
    worker = _client(
        master,
        {
            "clientId": "tokenadmin-worker",
            "secret": "tokenadmin-worker-secret",
            "serviceAccountsEnabled": True,
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False,
        },
    )
    _client(master, CLI_CLIENT)
    worker_user = master.users[worker.service_account_user_id or ""]
    for client_id in ("mlflow-realm", "master-realm"):
        _grant(master, worker_user, client_id, WORKER_ROLES)
    operator = _user(master, "operator", "operator", first="Olga", last="Operator")
    _grant(master, operator, "mlflow-realm", OPERATOR_ROLES)
    viewer = _user(master, "viewer", "viewer", first="Victor", last="Viewer")
    _grant(master, viewer, "mlflow-realm", ["view-realm", "view-users", "view-clients"])
    # view-realm alone: may read mlflow's settings, never its users or sessions.
    realm_viewer = _user(master, "realmviewer", "realmviewer", first="Rita", last="Realmviewer")
    _grant(master, realm_viewer, "mlflow-realm", ["view-realm"])
    _user(master, "outsider", "outsider", first="Otto", last="Outsider")
    _client(
        master,
        {
            "clientId": "api-client",
            "secret": "api-client-secret",
            "directAccessGrantsEnabled": True,
            "standardFlowEnabled": False,
            "attributes": {"access.token.lifespan": "3600", "use.refresh.tokens": "true"},
        },
    )
    _client(
        master,
        {
            "clientId": "sdk-client",
            "publicClient": True,
            "directAccessGrantsEnabled": True,
            "standardFlowEnabled": False,
        },
    )
    wallaroo = _user(master, "wallaroo_user", "wallaroo_user", first="Wally", last="Roo")
    scientist = _user(master, "data_scientist", "data_scientist", first="Dana", last="Scientist")
    for user in (wallaroo, scientist):
        user.role_ids.add(master.roles["offline_access"].id)

    _client(
        mlflow,
        {
            "clientId": "mlflow",
            "secret": "mlflow-secret",
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": True,
            "redirectUris": ["http://127.0.0.1/*"],
            "webOrigins": ["+"],
        },
    )
    ml_user = _user(mlflow, "mlflow_user", "mlflow_user", first="Mel", last="Flow")
    ml_admin = _user(mlflow, "mlflow_admin", "mlflow_admin", first="Ada", last="Admin")
    mgmt = mlflow.client_by_client_id["realm-management"]
    ml_admin.role_ids.add(mgmt.roles["realm-admin"].id)
    group = model.create_group(mlflow, {"name": "ml-engineers"}, stable=True)
    group.member_ids.add(ml_user.id)
    ml_user.group_ids.add(group.id)

    now = store.clock.now()
    _session(mlflow, ml_user, ["mlflow"], "10.0.4.21", now - 1200, now - 60)
    _session(mlflow, ml_user, ["mlflow"], "192.168.1.77", now - 7200, now - 300, remember_me=True)
    _session(mlflow, ml_admin, ["mlflow"], "10.0.4.9", now - 600, now - 30)
    _session(master, wallaroo, ["api-client"], "10.10.2.14", now - 900, now - 120)
    _session(
        master, wallaroo, ["api-client"], "10.10.2.14", now - 86400 * 3, now - 3600, offline=True
    )
    _session(master, scientist, ["sdk-client"], "172.16.5.33", now - 1500, now - 200)
    _session(
        master, scientist, ["sdk-client"], "172.16.5.33", now - 86400 * 9, now - 86400, offline=True
    )
    _session(
        master,
        scientist,
        ["api-client", "sdk-client"],
        "172.16.5.40",
        now - 86400,
        now - 7200,
        offline=True,
    )


def _session(
    realm: Realm,
    user: User,
    client_ids: list[str],
    ip: str,
    start: int,
    last: int,
    remember_me: bool = False,
    offline: bool = False,
    sid: str | None = None,
) -> None:
    us = realm.sessions.create(sid or new_id(), user.id, ip, start, last, remember_me, offline)
    for client_id in client_ids:
        realm.sessions.attach(us, realm.client_by_client_id[client_id], last, start=start)


# -- bulk ------------------------------------------------------------------------------------------
def seed_bulk(
    store: Store,
    realm_name: str,
    users: int,
    sessions: int,
    offline_ratio: float = 0.2,
    client_ids: list[str] | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """N users and M sessions with realistic IPs, ages, remember-me and an offline share."""
    rng = rng or random.Random()
    realm = store.realm(realm_name) or model.create_realm(store, realm_name)
    if client_ids:
        clients = [
            realm.client_by_client_id[c] for c in client_ids if c in realm.client_by_client_id
        ]
    else:
        clients = [
            c
            for c in realm.clients.values()
            if not c.builtin and not c.rep.get("bearerOnly") and not c.service_account_user_id
        ]
    if not clients:
        clients = [
            model.create_client(
                realm,
                {
                    "clientId": "seed-app",
                    "secret": "seed-app-secret",
                    "redirectUris": ["http://127.0.0.1/*"],
                },
            ),
            model.create_client(realm, {"clientId": "seed-public", "publicClient": True}),
        ]
    start_index = len(realm.users)
    created: list[User] = []
    default_role = realm.default_role.id if realm.default_role else None
    now_ms = store.clock.now_ms()
    for i in range(users):
        name = f"user-{start_index + i:06d}"
        while name in realm.user_by_name:
            start_index += 1
            name = f"user-{start_index + i:06d}"
        user = User(
            new_id(),
            name,
            now_ms - rng.randint(0, 86400_000 * 90),
            email=f"{name}@example.com",
            first_name="Seed",
            last_name=f"User {start_index + i}",
            email_verified=True,
            password=name,
        )
        if default_role:
            user.role_ids.add(default_role)
        realm.add_user(user)
        created.append(user)
    holders = created or [u for u in realm.users.values() if not u.service_account_client_id]
    now = store.clock.now()
    rep = realm.rep
    remember = bool(rep.get("rememberMe"))
    sso_idle, sso_max = (
        pos(rep.get("ssoSessionIdleTimeout"), 1800),
        pos(rep.get("ssoSessionMaxLifespan"), 36000),
    )
    off_idle = pos(rep.get("offlineSessionIdleTimeout"), 2592000)
    off_max = (
        pos(rep.get("offlineSessionMaxLifespan"), 5184000)
        if rep.get("offlineSessionMaxLifespanEnabled")
        else 86400 * 60
    )
    offline_count = 0
    subnet_bytes = [(rng.randint(0, 40), rng.randint(1, 254)) for _ in range(64)]
    for _ in range(sessions if holders else 0):
        user = holders[rng.randrange(len(holders))]
        offline = rng.random() < offline_ratio
        third, fourth = subnet_bytes[rng.randrange(64)]
        ip = SUBNETS[rng.randrange(4)].format(third, fourth + rng.randint(0, 1))
        if offline:
            age = rng.randint(0, int(off_max * 0.8))
            idle_gap = rng.randint(0, max(min(int(off_idle * 0.8), age), 0))
            remember_me = False
            offline_count += 1
        else:
            remember_me = remember and rng.random() < 0.1
            age = rng.randint(0, int(sso_max * 0.9))
            idle_gap = rng.randint(0, max(min(int(sso_idle * 0.9), age), 0))
        start = now - age
        last = now - idle_gap
        us = realm.sessions.create(new_id(), user.id, ip, start, last, remember_me, offline)
        realm.sessions.attach(us, clients[rng.randrange(len(clients))], last, start=start)
        if len(clients) > 1 and rng.random() < 0.15:
            realm.sessions.attach(us, clients[rng.randrange(len(clients))], last, start=start)
    return {
        "realm": realm.name,
        "users": len(created),
        "sessions": sessions - offline_count,
        "offline_sessions": offline_count,
        "clients": [c.client_id for c in clients],
    }


# -- realm-export import ---------------------------------------------------------------------------
# Keycloak resolves ${NAME} and ${NAME:default} in realm files at --import-realm from the
# environment; an unresolved placeholder without a default stays as it is.
PLACEHOLDER = re.compile(r"\$\{([^}:]+)(?::([^}]*))?\}")


def substitute_placeholders(value: Any, env: Mapping[str, str]) -> Any:
    """A copy of a parsed JSON value with placeholders in its strings filled from env."""
    if isinstance(value, str):

        def fill(match: re.Match[str]) -> str:
            name, default = match.group(1).strip(), match.group(2)
            if name in env:
                return env[name]
            return default if default is not None else match.group(0)

        return PLACEHOLDER.sub(fill, value)
    if isinstance(value, list):
        return [substitute_placeholders(item, env) for item in value]
    if isinstance(value, dict):
        return {k: substitute_placeholders(v, env) for k, v in value.items()}
    return value


def read_realm_file(path: str | Path, env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Realms of a Keycloak import file: one realm object or a JSON array of them (the
    single-file export), placeholders substituted, master first (ImportUtils)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    items = data if isinstance(data, list) else [data]
    reps = [item for item in items if isinstance(item, dict) and item.get("realm")]
    if len(reps) != len(items):
        raise ValueError(f"{path}: expected a realm object or an array of realm objects")
    reps = substitute_placeholders(reps, os.environ if env is None else env)
    return sorted(reps, key=lambda rep: rep["realm"] != "master")


def import_realm(store: Store, rep: dict[str, Any], strict: bool = True) -> Realm:
    """Create a realm from a Keycloak realm representation (admin POST or realm-export JSON)."""
    name = str(rep["realm"])
    settings = {k: v for k, v in rep.items() if k in REALM_DEFAULTS}
    if strict:
        model.check_fields(
            rep, set(REALM_DEFAULTS) | model.REALM_OTHER_FIELDS, "RealmRepresentation"
        )
    realm = model.create_realm(store, name, {"id": rep.get("id")} if rep.get("id") else None)
    model.apply_realm_rep(realm, settings, creating=True)
    roles = rep.get("roles") or {}
    for role_rep in roles.get("realm") or []:
        if role_rep.get("name") not in realm.roles:
            _import_role(realm, role_rep, None)
    for client_rep in rep.get("clients") or []:
        client_rep = {
            k: v
            for k, v in client_rep.items()
            if k in model.client_defaults() or k in ("clientId", "secret", "id")
        }
        client = realm.client_by_client_id.get(client_rep.get("clientId", ""))
        if client is None:
            model.create_client(realm, client_rep)
        else:
            model.apply_client_rep(
                realm, client, {k: v for k, v in client_rep.items() if k != "id"}
            )
            if client.rep.get("serviceAccountsEnabled"):
                model.ensure_service_account(realm, client)
    for client_id, role_reps in (roles.get("client") or {}).items():
        client = realm.client_by_client_id.get(client_id)
        if client is None:
            continue
        for role_rep in role_reps:
            if role_rep.get("name") not in client.roles:
                _import_role(realm, role_rep, client)
    for role_rep in [
        *(roles.get("realm") or []),
        *[r for rs in (roles.get("client") or {}).values() for r in rs],
    ]:
        _import_composites(realm, role_rep)
    for group_rep in rep.get("groups") or []:
        _import_group(realm, group_rep, None)
    for user_rep in rep.get("users") or []:
        _import_user(realm, user_rep)
    return realm


def _import_role(realm: Realm, rep: dict[str, Any], client: Client | None) -> None:
    from tokenadmin.emulator.store import Role

    rid = rep.get("id") or stable_id(
        realm.name, client.client_id if client else "", "role", rep["name"]
    )
    realm.add_role(
        Role(
            rid,
            rep["name"],
            client.id if client else realm.id,
            client_role=client is not None,
            description=rep.get("description"),
        ),
        client,
    )


def _find_role(realm: Realm, name: str, client_id: str | None = None) -> Any:
    if client_id is None:
        return realm.roles.get(name)
    client = realm.client_by_client_id.get(client_id)
    return client.roles.get(name) if client else None


def _import_composites(realm: Realm, rep: dict[str, Any]) -> None:
    composites = rep.get("composites") or {}
    if not composites:
        return
    role = (
        realm.role_by_id.get(rep.get("id", ""))
        or _find_role(realm, rep["name"])
        or next(
            (r for c in realm.clients.values() for r in c.roles.values() if r.name == rep["name"]),
            None,
        )
    )
    if role is None:
        return
    for name in composites.get("realm") or []:
        target = _find_role(realm, name)
        if target:
            role.composite_ids.add(target.id)
    for client_id, names in (composites.get("client") or {}).items():
        for name in names:
            target = _find_role(realm, name, client_id)
            if target:
                role.composite_ids.add(target.id)


def _role_ids(realm: Realm, rep: dict[str, Any]) -> set[str]:
    ids = {r.id for n in rep.get("realmRoles") or [] if (r := _find_role(realm, n))}
    for client_id, names in (rep.get("clientRoles") or {}).items():
        ids |= {r.id for n in names if (r := _find_role(realm, n, client_id))}
    return ids


def _import_group(realm: Realm, rep: dict[str, Any], parent: Any) -> None:
    group = model.create_group(realm, rep, parent, stable=True)
    group.role_ids |= _role_ids(realm, rep)
    for child in rep.get("subGroups") or []:
        _import_group(realm, child, group)


def _import_user(realm: Realm, rep: dict[str, Any]) -> None:
    fields = {
        k: v
        for k, v in rep.items()
        if k in model.USER_FIELDS and k not in ("realmRoles", "clientRoles", "groups")
    }
    user = model.create_user(realm, fields, stable=True)
    user.role_ids |= _role_ids(realm, rep)
    if rep.get("serviceAccountClientId"):
        client = realm.client_by_client_id.get(rep["serviceAccountClientId"])
        if client is not None:
            old = client.service_account_user_id
            if old and old in realm.users and old != user.id:
                realm.remove_user(realm.users[old])
            client.service_account_user_id = user.id
            user.service_account_client_id = client.id
    for path in rep.get("groups") or []:
        group = next(
            (g for g in realm.groups.values() if model.group_path(realm, g) in (path, "/" + path)),
            None,
        )
        if group is not None:
            group.member_ids.add(user.id)
            user.group_ids.add(group.id)
