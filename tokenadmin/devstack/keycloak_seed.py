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

Admin REST over ``requests`` as the bootstrap admin, the same steps as
docker/keycloak/bootstrap-master.sh (client upsert by clientId, roles on ``<realm>-realm``).
This is a development tool, not the dashboard: the dashboard talks to Keycloak only through
tokenadmin/keycloak/.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import os
import random
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tokenadmin.emulator.seed import OPERATOR_ROLES, SUBNETS, WORKER_ROLES

TIMEOUT_S = 60
DEMO_REDIRECT_URI = "http://127.0.0.1/demo-seed"  # matches the clients' http://127.0.0.1/*


class SeedError(RuntimeError):
    """Keycloak refused a seeding step; the message names the call and Keycloak's answer."""


class AdminApi:
    """Admin REST calls as a master user (admin-cli password grant), token renewed near its end."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = {"username": username, "password": password}
        self._http = requests.Session()
        self._token = ""
        self._token_until = 0.0
        self._lock = threading.Lock()

    def _bearer(self) -> str:
        with self._lock:
            if time.monotonic() > self._token_until:
                answer = self._http.post(
                    f"{self.base_url}/realms/master/protocol/openid-connect/token",
                    data={"grant_type": "password", "client_id": "admin-cli", **self._credentials},
                    timeout=TIMEOUT_S,
                )
                if answer.status_code != 200:
                    raise SeedError(
                        f"the admin sign-in to {self.base_url} failed: {answer.status_code} "
                        f"{answer.text[:200]}"
                    )
                body = answer.json()
                self._token = body["access_token"]
                self._token_until = time.monotonic() + body["expires_in"] - 15
            return self._token

    def call(
        self, method: str, path: str, *, expect: Iterable[int] = (200, 201, 204), **kwargs: Any
    ) -> requests.Response:
        """One call under /admin/realms; a status outside `expect` raises SeedError."""
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        answer = self._http.request(
            method,
            f"{self.base_url}/admin/realms{path}",
            headers=headers,
            timeout=TIMEOUT_S,
            **kwargs,
        )
        if answer.status_code not in tuple(expect):
            raise SeedError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params).json()


# -- realms, clients, users, roles -----------------------------------------------------------------
def realm_upsert(admin: AdminApi, *, realm: str, settings: dict[str, Any]) -> None:
    if admin.call("GET", f"/{realm}", expect=(200, 404)).status_code == 404:
        admin.call("POST", "", json={"realm": realm, "enabled": True, **settings})
    else:
        admin.call("PUT", f"/{realm}", json=settings)


def client_upsert(admin: AdminApi, *, realm: str, rep: dict[str, Any]) -> str:
    """Create or update a client by clientId (as bootstrap-master.sh does); its internal id."""
    found = admin.get(f"/{realm}/clients", clientId=rep["clientId"])
    if found:
        admin.call("PUT", f"/{realm}/clients/{found[0]['id']}", json=rep)
        return found[0]["id"]
    location = admin.call("POST", f"/{realm}/clients", json=rep).headers["Location"]
    return location.rsplit("/", 1)[1]


def user_upsert(
    admin: AdminApi,
    *,
    realm: str,
    username: str,
    password: str,
    first: str | None = None,
    last: str | None = None,
) -> str:
    """A user with a verified email and names (Keycloak 26's user profile requires both for a
    sign-in to finish) and a permanent password; its id."""
    rep = {
        "username": username,
        "enabled": True,
        "email": f"{username}@example.com",
        "emailVerified": True,
        "firstName": first or username,
        "lastName": last or "Demo",
    }
    found = admin.get(f"/{realm}/users", username=username, exact="true")
    if found:
        user_id = found[0]["id"]
        admin.call("PUT", f"/{realm}/users/{user_id}", json=rep)
    else:
        location = admin.call("POST", f"/{realm}/users", json=rep).headers["Location"]
        user_id = location.rsplit("/", 1)[1]
    admin.call(
        "PUT",
        f"/{realm}/users/{user_id}/reset-password",
        json={"type": "password", "value": password, "temporary": False},
    )
    return user_id


def client_roles_grant(
    admin: AdminApi, *, realm: str, user_id: str, client_id: str, roles: list[str]
) -> None:
    """Give a user roles of a client (e.g. master's `mlflow-realm`); already held ones are kept."""
    client_uuid = admin.get(f"/{realm}/clients", clientId=client_id)[0]["id"]
    reps = [admin.get(f"/{realm}/clients/{client_uuid}/roles/{name}") for name in roles]
    admin.call("POST", f"/{realm}/users/{user_id}/role-mappings/clients/{client_uuid}", json=reps)


def realm_roles_grant(admin: AdminApi, *, realm: str, user_id: str, roles: list[str]) -> None:
    reps = [admin.get(f"/{realm}/roles/{name}") for name in roles]
    admin.call("POST", f"/{realm}/users/{user_id}/role-mappings/realm", json=reps)


def group_member_add(admin: AdminApi, *, realm: str, group: str, user_id: str) -> None:
    found = [g for g in admin.get(f"/{realm}/groups", search=group) if g["name"] == group]
    if found:
        group_id = found[0]["id"]
    else:
        location = admin.call("POST", f"/{realm}/groups", json={"name": group}).headers["Location"]
        group_id = location.rsplit("/", 1)[1]
    admin.call("PUT", f"/{realm}/users/{user_id}/groups/{group_id}")


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
    {
        # The `tokenadmin` command line: device grant, tokenadmin in its tokens' audience.
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
    },
]
MLFLOW_CLIENT: dict[str, Any] = {
    "clientId": "mlflow",
    "secret": "mlflow-secret",
    "standardFlowEnabled": True,
    "directAccessGrantsEnabled": True,
    "redirectUris": ["http://127.0.0.1/*"],
    "webOrigins": ["+"],
}
# Who may sign in where, for the sessions: (realm, clientId, secret or None for a public client).
SECRETS = {
    "tokenadmin": "tokenadmin-dev-secret",
    "api-client": "api-client-secret",
    "sdk-client": None,
    "mlflow": "mlflow-secret",
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


def bulk_users_create(
    admin: AdminApi, *, realm: str, count: int, concurrency: int = 4
) -> list[str]:
    """`count` users user-000000… (password = username), as the emulator's bulk seed names
    them; users that already exist keep their id and get the password again."""
    names = [f"user-{index:06d}" for index in range(count)]

    def create(index_name: tuple[int, str]) -> None:
        index, name = index_name
        user_upsert(
            admin, realm=realm, username=name, password=name, first="Seed", last=f"User {index}"
        )

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(create, enumerate(names)))
    return names


# -- sessions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    """One real sign-in: a password grant, or the login form when `form` (remember-me there)."""

    realm: str
    client_id: str
    username: str
    password: str
    ip: str = "127.0.0.1"
    offline: bool = False
    form: bool = False
    remember_me: bool = False


@dataclass
class SignInsMade:
    online: int = 0
    offline: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def sessions(self) -> int:
        return self.online + self.offline


def token_endpoint(base_url: str, realm: str) -> str:
    return f"{base_url}/realms/{realm}/protocol/openid-connect/token"


def password_grant(http: requests.Session, base_url: str, sign_in: SignIn) -> dict[str, Any]:
    """A password grant (with scope offline_access for an offline session); the token answer."""
    secret = SECRETS.get(sign_in.client_id)
    form = {
        "grant_type": "password",
        "client_id": sign_in.client_id,
        "username": sign_in.username,
        "password": sign_in.password,
        "scope": "openid offline_access" if sign_in.offline else "openid",
    }
    if secret:
        form["client_secret"] = secret
    answer = http.post(
        token_endpoint(base_url, sign_in.realm),
        data=form,
        headers={"X-Forwarded-For": sign_in.ip},
        timeout=TIMEOUT_S,
    )
    if answer.status_code != 200:
        raise SeedError(
            f"password grant for {sign_in.username}: {answer.status_code} {answer.text}"
        )
    return answer.json()


FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.S)


def form_sign_in(http: requests.Session, base_url: str, sign_in: SignIn) -> dict[str, Any]:
    """The authorization code flow through Keycloak's own login page, as a browser does it:
    open the page, post the form (remember-me ticked if asked), exchange the code."""
    headers = {"X-Forwarded-For": sign_in.ip}
    # PKCE always: client tokenadmin requires S256, as the dashboard's own sign-in does.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    page = http.get(
        f"{base_url}/realms/{sign_in.realm}/protocol/openid-connect/auth",
        params={
            "client_id": sign_in.client_id,
            "response_type": "code",
            "redirect_uri": DEMO_REDIRECT_URI,
            "scope": "openid",
            "state": "seed",
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        },
        headers=headers,
        timeout=TIMEOUT_S,
    )
    # Keycloak marks its login cookies Secure; browsers send those to a loopback http origin,
    # Python's cookie jar does not, so they are sent back as plain cookies.
    for cookie in http.cookies:
        cookie.secure = False
    action = FORM_ACTION.search(page.text)
    if page.status_code != 200 or action is None:
        raise SeedError(f"no login form for {sign_in.client_id}: {page.status_code}")
    fields = {"username": sign_in.username, "password": sign_in.password, "credentialId": ""}
    if sign_in.remember_me:
        fields["rememberMe"] = "on"
    posted = http.post(
        html.unescape(action.group(1)),
        data=fields,
        headers=headers,
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    code = parse_qs(urlsplit(posted.headers.get("Location", "")).query).get("code")
    if posted.status_code != 302 or not code:
        raise SeedError(f"the login form refused {sign_in.username}: {posted.status_code}")
    exchanged = http.post(
        token_endpoint(base_url, sign_in.realm),
        data={
            "grant_type": "authorization_code",
            "code": code[0],
            "redirect_uri": DEMO_REDIRECT_URI,
            "client_id": sign_in.client_id,
            "client_secret": SECRETS[sign_in.client_id] or "",
            "code_verifier": verifier,
        },
        headers=headers,
        timeout=TIMEOUT_S,
    )
    if exchanged.status_code != 200:
        raise SeedError(f"code exchange for {sign_in.username}: {exchanged.status_code}")
    return exchanged.json()


def sign_ins_make(base_url: str, sign_ins: list[SignIn], *, concurrency: int = 4) -> SignInsMade:
    """Perform every sign-in from a thread pool (one HTTP session per password-grant thread, a
    fresh cookie jar per form sign-in so each makes its own session); counts and failures."""
    made = SignInsMade()
    local = threading.local()
    lock = threading.Lock()

    def one(sign_in: SignIn) -> None:
        try:
            if sign_in.form:
                with requests.Session() as browser:
                    form_sign_in(browser, base_url.rstrip("/"), sign_in)
            else:
                if not hasattr(local, "http"):
                    local.http = requests.Session()
                password_grant(local.http, base_url.rstrip("/"), sign_in)
        except (SeedError, requests.RequestException) as exc:
            with lock:
                made.failures.append(str(exc)[:200])
            return
        with lock:
            if sign_in.offline:
                made.offline += 1
            else:
                made.online += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, sign_ins))
    made.seconds = time.perf_counter() - started
    return made


def random_ip(rng: random.Random) -> str:
    return SUBNETS[rng.randrange(len(SUBNETS))].format(rng.randint(0, 40), rng.randint(1, 254))


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
