"""Every /api/v1/ operation as every kind of caller, from one table, against the emulator.

Callers: nobody (401), "outsider" (no admin role: 403), "viewer" (view-realm, view-users and
view-clients on mlflow: reads there, 403 on writes), "operator" (view and manage on mlflow
only: allowed there, 403 on master), "admin" (master's admin: everything). Each signed-in
caller comes in twice: a browser session (its CSRF token sent on writes) and a bearer token.
Writes here change nothing else: a plan revokes nothing, lifespans writes are dry runs, an
applied plan holds one session made for it.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import SECRET
from tests.api.test_api import assert_problem
from tokenadmin.revocation.models import RevocationJob

API = "/api/v1"
REALMS = ("mlflow", "master")
# Who may, per realm: what the emulator's seeded roles grant (tokenadmin/emulator/seed.py).
ANY_RIGHT = {"mlflow": {"viewer", "operator", "admin"}, "master": {"admin"}}
VIEW = {"mlflow": {"viewer", "operator", "admin"}, "master": {"admin"}}
MANAGE = {"mlflow": {"operator", "admin"}, "master": {"admin"}}
CALLERS = ("nobody", "outsider", "viewer", "operator", "admin")


@dataclass
class World:
    """What the operations name: made once per test, before the caller acts."""

    kc: Any
    realm: str
    admin_bearer: Client

    def user_id(self) -> str:
        username = "mlflow_user" if self.realm == "mlflow" else "admin"
        return self.kc.admin(self.realm).get_user_id(username)

    def client_uuid(self) -> str:
        client_id = "mlflow" if self.realm == "mlflow" else "tokenadmin"
        return self.kc.admin(self.realm).get_client_id(client_id)

    def plan_id(self) -> str:
        """An admin's plan over one fresh session of a bystander, made for it."""
        if self.realm == "mlflow":
            login = ("mlflow", "mlflow", "mlflow_user", "mlflow_user", "mlflow-secret")
        else:
            login = ("master", "tokenadmin", "outsider", "outsider", SECRET)
        realm, client_id, username, password, secret = login
        session = self.kc.password_login(realm, client_id, username, password, secret=secret)
        answer = self.admin_bearer.post(
            f"{API}/revocation/realms/{self.realm}/plans",
            json.dumps({"kind": "selection", "sessions": [session["session_state"]]}),
            content_type="application/json",
        )
        assert answer.status_code == 200, answer.content
        return answer.json()["plan_id"]

    def job_id(self) -> int:
        job = RevocationJob.objects.create(
            realm=self.realm, action="bulk_revocation", label="x", actor_username="a", reason="r"
        )
        return job.pk

    def lifespans_version(self) -> str:
        answer = self.admin_bearer.get(f"{API}/lifespans/realms/{self.realm}")
        return answer.json()["version"]

    def report_id(self) -> int:
        from tests.reports.conftest import report_create

        return report_create(name=f"{self.realm} expiry", realms=[self.realm]).pk


@dataclass(frozen=True)
class Op:
    method: str
    path: Callable[[World], str]
    allowed: dict[str, set[str]]  # per realm
    ok: int = 200
    body: Callable[[World], dict] | None = None
    headers: Callable[[World], dict] | None = None


OPS: dict[str, Op] = {
    "realms_list": Op("get", lambda w: "/realms", ANY_RIGHT),
    "sessions_list": Op("get", lambda w: f"/realms/{w.realm}/sessions", VIEW),
    "sessions_csv": Op("get", lambda w: f"/realms/{w.realm}/sessions?format=csv", VIEW),
    "user_sessions": Op("get", lambda w: f"/realms/{w.realm}/users/{w.user_id()}/sessions", VIEW),
    "client_sessions": Op(
        "get", lambda w: f"/realms/{w.realm}/clients/{w.client_uuid()}/sessions", VIEW
    ),
    "plan_create": Op(
        "post",
        lambda w: f"/revocation/realms/{w.realm}/plans",
        MANAGE,
        body=lambda w: {"kind": "filter", "query": {"q": "no-such-user-anywhere"}},
    ),
    "plan_apply": Op(
        "post",
        lambda w: f"/revocation/realms/{w.realm}/plans/apply",
        MANAGE,
        ok=202,
        body=lambda w: {"plan_id": w.plan_id(), "reason": "table"},
    ),
    "job_get": Op("get", lambda w: f"/revocation/jobs/{w.job_id()}", VIEW),
    "job_items": Op("get", lambda w: f"/revocation/jobs/{w.job_id()}/items", VIEW),
    "lifespans_get": Op("get", lambda w: f"/lifespans/realms/{w.realm}", ANY_RIGHT),
    "lifespans_put_dry": Op(
        "put",
        lambda w: f"/lifespans/realms/{w.realm}",
        MANAGE,
        body=lambda w: {"values": {"ssoSessionMaxLifespan": "11h"}, "dry_run": True},
        headers=lambda w: {"If-Match": f'"{w.lifespans_version()}"'},
    ),
    "ledger_list": Op("get", lambda w: "/ledger", ANY_RIGHT),
    "reports_list": Op("get", lambda w: "/reports", ANY_RIGHT),
    "report_runs": Op("get", lambda w: f"/reports/{w.report_id()}/runs", VIEW),
    "report_run": Op("post", lambda w: f"/reports/{w.report_id()}/runs", VIEW, ok=202),
}
# Operations whose path names no realm answer the same on both: tried once, on mlflow.
REALMLESS = {"realms_list", "ledger_list", "reports_list"}
CASES = [
    pytest.param(op, realm, caller, login, id=f"{op}-{realm}-{caller}-{login}")
    for op in OPS
    for realm in REALMS
    if not (op in REALMLESS and realm == "master")
    for caller in CALLERS
    for login in (("none",) if caller == "nobody" else ("session", "bearer"))
]


def _caller_client(caller: str, login: str, client_as, kc) -> Client:
    if login == "none":
        return Client()
    if login == "bearer":
        token = kc.password_login("master", "tokenadmin", caller, caller, secret=SECRET)
        return Client(headers={"Authorization": f"Bearer {token['access_token']}"})
    client = client_as(caller)
    client.handler.enforce_csrf_checks = True  # as a browser: the token must come along
    return client


def _send(client: Client, op: Op, world: World, *, csrf: bool = True):
    headers = op.headers(world) if op.headers else {}
    token = client.cookies.get("csrftoken")
    if csrf and token is not None and op.method != "get":
        headers["X-CSRFToken"] = token.value
    path = API + op.path(world)
    if op.body is None:
        return getattr(client, op.method)(path, headers=headers)
    return getattr(client, op.method)(
        path, json.dumps(op.body(world)), content_type="application/json", headers=headers
    )


@pytest.fixture
def world_for(kc, db):
    admin_token = kc.password_login("master", "tokenadmin", "admin", "admin", secret=SECRET)
    admin = Client(headers={"Authorization": f"Bearer {admin_token['access_token']}"})
    return lambda realm: World(kc=kc, realm=realm, admin_bearer=admin)


@pytest.mark.parametrize(("op_name", "realm", "caller", "login"), CASES)
def test_each_operation_as_each_caller(op_name, realm, caller, login, world_for, client_as, kc):
    op = OPS[op_name]
    world = world_for(realm)
    client = _caller_client(caller, login, client_as, kc)
    if login == "session":
        client.get("/realms/")  # the page a browser came from sets its csrftoken cookie

    response = _send(client, op, world)

    if caller == "nobody":
        assert_problem(response, 401)
    elif caller in op.allowed[realm]:
        assert response.status_code == op.ok, response.content
    else:
        assert_problem(response, 403)


WRITES = [name for name, op in OPS.items() if op.method != "get"]


@pytest.mark.parametrize("op_name", WRITES)
def test_a_browser_session_write_without_its_csrf_token_is_403(op_name, world_for, client_as, kc):
    op = OPS[op_name]
    client = _caller_client("admin", "session", client_as, kc)
    client.get("/realms/")

    response = _send(client, op, world_for("mlflow"), csrf=False)

    assert "CSRF" in assert_problem(response, 403)["detail"]
