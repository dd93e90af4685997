"""Keycloak's admin REST over ``requests`` as the bootstrap admin: the upserts the demo's seed
(``keycloak_seed.py``) and the benches use, the same steps as docker/keycloak/bootstrap-master.sh
(client upsert by clientId, roles on ``<realm>-realm``). A development tool, not the dashboard:
the dashboard talks to Keycloak only through tokenadmin/keycloak/.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

TIMEOUT_S = 60


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
