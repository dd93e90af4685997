"""Real Keycloak seeded like the emulator's demo: realms, clients, users, roles, real sessions.

``python -m tokenadmin.devstack.keycloak_seed --url http://127.0.0.1:8180 [--sessions 300]``
puts into a running Keycloak 26 what ``python -m tokenadmin.emulator --seed demo`` starts with
(tokenadmin/emulator/seed.py, ``seed_demo``): realm ``mlflow`` and the demo's clients, users,
roles and group in ``master`` and ``mlflow``, with the same client ids, secrets, redirect URIs
and client attributes. Keycloak's own defaults stand for everything the emulator leaves at its
defaults (realm lifespans among them).

Sessions cannot be written into real Keycloak, only made: every session here is a real sign-in,
through the login form (the authorization code flow, some with remember-me) or a password grant
(some with ``scope=offline_access``, which makes an offline session). Keycloak records the
client's address; with ``KC_PROXY_HEADERS=xforwarded`` (the demo sets it) it takes it from the
``X-Forwarded-For`` header each sign-in sends, so the sessions page shows varied addresses.

The admin REST calls are in ``keycloak_admin.py``, the sign-ins in ``keycloak_signins.py``;
this module holds the demo's data and puts the two together. A development tool, not the
dashboard: the dashboard talks to Keycloak only through tokenadmin/keycloak/.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

import requests

from tokenadmin.devstack.keycloak_admin import (
    AdminApi,
    SeedError,
    bulk_users_create,
    client_roles_grant,
    client_upsert,
    group_member_add,
    realm_roles_grant,
    realm_upsert,
    user_upsert,
)
from tokenadmin.devstack.keycloak_signins import SignIn, SignInsMade, random_ip, sign_ins_make
from tokenadmin.emulator.seed import CLI_CLIENT, OPERATOR_ROLES, WORKER_ROLES

# The emulator's demo seed (tokenadmin/emulator/seed.py, seed_demo), client for client.
MASTER_CLIENTS: list[dict[str, Any]] = [
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
    {
        "clientId": "tokenadmin-worker",
        "secret": "tokenadmin-worker-secret",
        "serviceAccountsEnabled": True,
        "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
    },
    {
        "clientId": "api-client",
        "secret": "api-client-secret",
        "directAccessGrantsEnabled": True,
        "standardFlowEnabled": False,
        "attributes": {"access.token.lifespan": "3600", "use.refresh.tokens": "true"},
    },
    {
        "clientId": "sdk-client",
        "publicClient": True,
        "directAccessGrantsEnabled": True,
        "standardFlowEnabled": False,
    },
    # The `tokenadmin` command line: device grant, tokenadmin in its tokens' audience.
    CLI_CLIENT,
]
MLFLOW_CLIENT: dict[str, Any] = {
    "clientId": "mlflow",
    "secret": "mlflow-secret",
    "standardFlowEnabled": True,
    "directAccessGrantsEnabled": True,
    "redirectUris": ["http://127.0.0.1/*"],
    "webOrigins": ["+"],
}
# (username, first name, last name) with password = username, as in the emulator.
MASTER_USERS = [
    ("operator", "Olga", "Operator"),
    ("viewer", "Victor", "Viewer"),
    ("realmviewer", "Rita", "Realmviewer"),
    ("outsider", "Otto", "Outsider"),
    ("wallaroo_user", "Wally", "Roo"),
    ("data_scientist", "Dana", "Scientist"),
]
MLFLOW_USERS = [("mlflow_user", "Mel", "Flow"), ("mlflow_admin", "Ada", "Admin")]


def demo_realms_seed(admin: AdminApi) -> dict[str, str]:
    """Realms, clients, users, roles and the group of the emulator's demo; user ids by name.

    The bootstrap admin (admin/admin) already holds master's `admin` role, as in the emulator.
    """
    realm_upsert(admin, realm="master", settings={"rememberMe": True})
    realm_upsert(admin, realm="mlflow", settings={"rememberMe": True})
    for rep in MASTER_CLIENTS:
        client_upsert(admin, realm="master", rep=rep)
    client_upsert(admin, realm="mlflow", rep=MLFLOW_CLIENT)
    ids = {
        name: user_upsert(admin, realm=realm, username=name, password=name, first=first, last=last)
        for realm, people in (("master", MASTER_USERS), ("mlflow", MLFLOW_USERS))
        for name, first, last in people
    }
    worker = admin.get("/master/users", username="service-account-tokenadmin-worker", exact="true")
    for management_client in ("mlflow-realm", "master-realm"):
        client_roles_grant(
            admin,
            realm="master",
            user_id=worker[0]["id"],
            client_id=management_client,
            roles=WORKER_ROLES,
        )
    client_roles_grant(
        admin,
        realm="master",
        user_id=ids["operator"],
        client_id="mlflow-realm",
        roles=OPERATOR_ROLES,
    )
    client_roles_grant(
        admin,
        realm="master",
        user_id=ids["viewer"],
        client_id="mlflow-realm",
        roles=["view-realm", "view-users", "view-clients"],
    )
    # view-realm alone: mlflow's settings, never its users or sessions.
    client_roles_grant(
        admin,
        realm="master",
        user_id=ids["realmviewer"],
        client_id="mlflow-realm",
        roles=["view-realm"],
    )
    for name in ("wallaroo_user", "data_scientist"):
        realm_roles_grant(admin, realm="master", user_id=ids[name], roles=["offline_access"])
    client_roles_grant(
        admin,
        realm="mlflow",
        user_id=ids["mlflow_admin"],
        client_id="realm-management",
        roles=["realm-admin"],
    )
    group_member_add(admin, realm="mlflow", group="ml-engineers", user_id=ids["mlflow_user"])
    return ids


def demo_sign_ins(
    *, sessions: int, users: dict[str, list[str]], rng: random.Random, offline_ratio: float = 0.2
) -> list[SignIn]:
    """The emulator demo's named sessions, then `sessions` more spread like its bulk seed:
    half in `mlflow` (client mlflow), half in `master` (api-client, sdk-client, tokenadmin),
    `offline_ratio` of them offline, a tenth of the online ones through the login form with
    remember-me (both realms allow it)."""
    named = [
        SignIn("mlflow", "mlflow", "mlflow_user", "mlflow_user", "10.0.4.21", form=True),
        SignIn(
            "mlflow",
            "mlflow",
            "mlflow_user",
            "mlflow_user",
            "192.168.1.77",
            form=True,
            remember_me=True,
        ),
        SignIn("mlflow", "mlflow", "mlflow_admin", "mlflow_admin", "10.0.4.9", form=True),
        SignIn("master", "api-client", "wallaroo_user", "wallaroo_user", "10.10.2.14"),
        SignIn("master", "api-client", "wallaroo_user", "wallaroo_user", "10.10.2.14", True),
        SignIn("master", "sdk-client", "data_scientist", "data_scientist", "172.16.5.33"),
        SignIn("master", "sdk-client", "data_scientist", "data_scientist", "172.16.5.33", True),
        SignIn("master", "api-client", "data_scientist", "data_scientist", "172.16.5.40", True),
    ]
    bulk = []
    plans = (("mlflow", ["mlflow"]), ("master", ["api-client", "sdk-client", "tokenadmin"]))
    for index in range(sessions):
        realm, clients = plans[0] if index < sessions // 2 else plans[1]
        name = rng.choice(users[realm])
        client_id = rng.choice(clients)
        offline = rng.random() < offline_ratio
        # The login form needs a client with the standard flow: mlflow and tokenadmin.
        form = not offline and client_id in ("mlflow", "tokenadmin") and rng.random() < 0.1
        bulk.append(
            SignIn(realm, client_id, name, name, random_ip(rng), offline, form, remember_me=form)
        )
    return named + bulk


@dataclass
class DemoSeedReport:
    realms_s: float
    users_s: float
    users: int
    made: SignInsMade


def keycloak_demo_seed(
    *,
    base_url: str,
    sessions: int = 300,
    admin_username: str,
    admin_password: str,
    concurrency: int = 4,
    seed: int = 4242,
) -> DemoSeedReport:
    """Seed a running Keycloak with the demo: realms and roles, then `sessions` real sign-ins
    (plus the eight named ones), by about one user for every two sessions, as the emulator."""
    admin = AdminApi(base_url, admin_username, admin_password)
    started = time.perf_counter()
    demo_realms_seed(admin)
    realms_s = time.perf_counter() - started
    started = time.perf_counter()
    users: dict[str, list[str]] = {}
    for realm in ("mlflow", "master"):
        users[realm] = bulk_users_create(
            admin, realm=realm, count=max(sessions // 4, 1), concurrency=concurrency
        )
    users_s = time.perf_counter() - started
    made = sign_ins_make(
        base_url,
        demo_sign_ins(sessions=sessions, users=users, rng=random.Random(seed)),
        concurrency=concurrency,
    )
    if made.failures:
        raise SeedError(
            f"{len(made.failures)} of {made.sessions + len(made.failures)} sign-ins failed, "
            f"first: {made.failures[0]}"
        )
    return DemoSeedReport(
        realms_s=realms_s, users_s=users_s, users=sum(map(len, users.values())), made=made
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tokenadmin.devstack.keycloak_seed",
        description="Seed a running real Keycloak with tokenadmin's demo realms and sessions.",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8180", help="Keycloak's base URL")
    parser.add_argument("--sessions", type=int, default=300, help="sign-ins beyond the named 8")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    try:
        report = keycloak_demo_seed(
            base_url=args.url,
            sessions=args.sessions,
            admin_username=os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
            admin_password=os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin"),
            concurrency=args.concurrency,
        )
    except (SeedError, requests.RequestException) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"seeded {args.url}: realms and roles in {report.realms_s:.1f} s, {report.users} users "
        f"in {report.users_s:.1f} s, {report.made.online} online + {report.made.offline} offline "
        f"sessions by real sign-ins in {report.made.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
