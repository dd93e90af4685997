"""/api/v1/ as each kind of caller, against the emulator: what the caller gets back and what
Keycloak ends up holding."""

import json
import time

import pytest
from django.core import signing
from django.test import Client
from openapi_spec_validator import validate

from tokenadmin.api.models import AppliedPlan
from tokenadmin.revocation.models import RevocationJob

API = "/api/v1"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    return body


def mlflow_online_ids(kc) -> set[str]:
    admin = kc.admin("mlflow")
    return {s["id"] for s in admin.get_sessions(admin.get_user_id("mlflow_user"))}


def test_the_openapi_document_validates(db):
    response = Client().get(f"{API}/openapi.json")

    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert f"{API}/realms/{{realm}}/sessions" in document["paths"]
    assert document["components"]["securitySchemes"]["CallerAuth"]["scheme"] == "bearer"


def test_no_caller_gets_401_problem(db):
    body = assert_problem(Client().get(f"{API}/realms"), 401)
    assert "Sign in" in body["detail"]


def test_a_token_not_meant_for_tokenadmin_gets_401_and_says_why(db, kc):
    mlflow = kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret"
    )
    other_client = kc.password_login(
        "master", "api-client", "admin", "admin", secret="api-client-secret"
    )

    def detail(header: str) -> str:
        client = Client(headers={"Authorization": header})
        return assert_problem(client.get(f"{API}/realms"), 401)["detail"]

    assert "not signed by a key" in detail(f"Bearer {mlflow['access_token']}")
    assert "audience" in detail(f"Bearer {other_client['access_token']}")
    assert "not a JWT" in detail("Bearer not.a.jwt")
    assert "Bearer <access token>" in detail("Basic YWRtaW46YWRtaW4=")


@pytest.mark.parametrize("login", ["session", "bearer"])
def test_realms_list_the_callers_realms_with_counts_and_lifespans(login, client_as, bearer_for):
    client = client_as("admin") if login == "session" else bearer_for("admin")

    realms = {r["name"]: r for r in client.get(f"{API}/realms").json()}

    assert {"master", "mlflow"} <= set(realms)
    assert realms["mlflow"]["lifespans"]["access_token_s"] == 300
    assert realms["mlflow"]["my_rights"] == ["all"]
    assert isinstance(realms["mlflow"]["active_client_sessions"], int)


def test_no_admin_role_gets_403_on_realms(bearer_for):
    body = assert_problem(bearer_for("outsider").get(f"{API}/realms"), 403)

    assert "no admin right" in body["detail"]


@pytest.mark.parametrize(
    ("username", "status"), [("outsider", 403), ("realmviewer", 403), ("viewer", 200)]
)
def test_sessions_need_view_users_on_the_realm(username, status, bearer_for, mlflow_sessions):
    response = bearer_for(username).get(f"{API}/realms/mlflow/sessions")

    if status == 200:
        assert {s["session_id"] for s in response.json()["items"]} >= set(mlflow_sessions)
    else:
        assert "view-users on mlflow" in assert_problem(response, 403)["detail"]


def test_sessions_page_with_a_cursor_then_csv(client_as, mlflow_sessions):
    client = client_as("viewer")

    whole = client.get(f"{API}/realms/mlflow/sessions", {"q": "mlflow_user"}).json()["items"]
    walked, cursor, pages = [], "", 0
    while cursor is not None:
        page = client.get(
            f"{API}/realms/mlflow/sessions", {"q": "mlflow_user", "limit": 1, "cursor": cursor}
        ).json()
        walked += [s["session_id"] for s in page["items"]]
        cursor, pages = page["next_cursor"], pages + 1
    csv = client.get(f"{API}/realms/mlflow/sessions", {"q": "mlflow_user", "format": "csv"})

    assert set(mlflow_sessions) <= set(walked)
    assert walked == [s["session_id"] for s in whole]
    assert pages == len(whole) >= 2
    assert csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert len(lines) == len(whole) + 1


def test_bad_filters_and_foreign_cursors_are_400(client_as, mlflow_sessions):
    client = client_as("viewer")
    first = client.get(f"{API}/realms/mlflow/sessions", {"limit": 1}).json()

    bad_duration = client.get(f"{API}/realms/mlflow/sessions", {"idle_over": "45"})
    bad_sort = client.get(f"{API}/realms/mlflow/sessions", {"sort": "password"})
    other_query = client.get(
        f"{API}/realms/mlflow/sessions", {"q": "x", "cursor": first["next_cursor"]}
    )
    bad_limit = client.get(f"{API}/realms/mlflow/sessions", {"limit": "lots"})

    assert "Idle for more than" in assert_problem(bad_duration, 400)["detail"]
    assert "Sort" in assert_problem(bad_sort, 400)["detail"]
    assert "cursor" in assert_problem(other_query, 400)["detail"]
    assert assert_problem(bad_limit, 400)["errors"][0]["where"].endswith("limit")


def _plan(client: Client, **recipe) -> tuple[int, dict]:
    response = client.post(
        f"{API}/revocation/realms/mlflow/plans", json.dumps(recipe), content_type="application/json"
    )
    return response.status_code, response.json()


def _apply(client: Client, plan_id: str, realm: str = "mlflow"):
    return client.post(
        f"{API}/revocation/realms/{realm}/plans/apply",
        json.dumps({"plan_id": plan_id, "reason": "off-boarding"}),
        content_type="application/json",
    )


@pytest.mark.parametrize("login", ["session", "bearer"])
def test_an_operator_plans_then_applies_once(login, kc, client_as, bearer_for, mlflow_sessions):
    client = client_as("operator") if login == "session" else bearer_for("operator")

    status, plan = _plan(client, kind="selection", sessions=mlflow_sessions)
    applied = _apply(client, plan["plan_id"])
    again = _apply(client, plan["plan_id"])

    assert status == 200
    assert plan["count"] == 2
    assert {t["session_id"] for t in plan["sample"]} == set(mlflow_sessions)
    assert applied.status_code == 202
    assert applied.json()["state"] == "done" and applied.json()["done"] == 2
    assert not mlflow_online_ids(kc) & set(mlflow_sessions)
    assert f"already applied: job {applied.json()['id']}" in assert_problem(again, 409)["detail"]
    assert RevocationJob.objects.count() == 1 == AppliedPlan.objects.count()
    job = client.get(f"{API}/revocation/jobs/{applied.json()['id']}")
    items = client.get(f"{API}/revocation/jobs/{applied.json()['id']}/items")
    assert job.json()["done"] == 2
    assert {i["session_id"] for i in items.json()} == set(mlflow_sessions)


def test_a_user_plan_reads_keycloak_live_and_signs_the_person_out_everywhere(
    kc, bearer_for, mlflow_sessions
):
    # A session begun after the index's last refresh: the off-boarding must not miss it.
    late = kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret"
    )["session_state"]
    client = bearer_for("operator")
    admin = kc.admin(realm_name="mlflow")
    user_id = admin.get_user_id("mlflow_user")
    held = {s["id"] for s in admin.get_sessions(user_id)}

    status, plan = _plan(client, kind="user", user="mlflow_user", offline=True)
    applied = _apply(client, plan["plan_id"])
    unknown, problem = _plan(client, kind="user", user="nobody-here")

    assert status == 200, plan
    assert plan["label"] == "Every session of user mlflow_user (online and offline)"
    assert {*mlflow_sessions, late} <= held
    assert plan["count"] == len(held) + plan["offline_count"]
    assert {t["session_id"] for t in plan["sample"] if not t["offline"]} == held
    assert applied.status_code == 202 and applied.json()["done"] == plan["count"]
    assert admin.get_sessions(user_id) == []
    assert unknown == 404 and "nobody-here" in problem["detail"]


def test_the_callers_own_session_is_never_a_target(kc, db):
    # admin signs in to master through tokenadmin; a plan over all of master spares that session.
    from tokenadmin.sessionindex.refresh import realm_index_refresh

    token = kc.password_login(
        "master", "tokenadmin", "admin", "admin", secret="tokenadmin-dev-secret"
    )
    client = Client(headers={"Authorization": f"Bearer {token['access_token']}"})
    realm_index_refresh(realm="master")

    response = client.post(
        f"{API}/revocation/realms/master/plans",
        json.dumps({"kind": "filter", "query": {"q": "admin"}}),
        content_type="application/json",
    )

    plan = response.json()
    assert token["session_state"] not in {t["session_id"] for t in plan["sample"]}
    assert token["session_state"] in {e["session_id"] for e in plan["excluded"]}


def test_a_viewer_may_not_plan_and_nothing_is_revoked(kc, bearer_for, mlflow_sessions):
    status, body = _plan(bearer_for("viewer"), kind="filter", query={"q": "mlflow_user"})

    assert status == 403
    assert "manage-users on mlflow" in body["detail"]
    assert set(mlflow_sessions) <= mlflow_online_ids(kc)


def test_an_expired_altered_or_other_realm_plan_is_refused(
    kc, client_as, mlflow_sessions, monkeypatch
):
    client = client_as("admin")
    _, plan = _plan(client, kind="selection", sessions=mlflow_sessions)
    with monkeypatch.context() as m:  # a plan signed 31 minutes ago
        old = signing.b62_encode(int(time.time()) - 31 * 60)
        m.setattr(signing.TimestampSigner, "timestamp", lambda self: old)
        _, old_plan = _plan(client, kind="selection", sessions=mlflow_sessions)

    altered = _apply(client, plan["plan_id"][:-3] + "xyz")
    other_realm = _apply(client, plan["plan_id"], realm="master")
    stale = _apply(client, old_plan["plan_id"])

    assert "altered" in assert_problem(altered, 409)["detail"]
    assert "another realm" in assert_problem(other_realm, 409)["detail"]
    assert "more than 30 minutes old" in assert_problem(stale, 409)["detail"]
    assert set(mlflow_sessions) <= mlflow_online_ids(kc)
    assert RevocationJob.objects.count() == 0


def test_plan_input_errors_are_400(client_as, db):
    client = client_as("operator")

    status, body = _plan(client, kind="client")
    missing, _ = _plan(client)

    assert status == 400 and "Name the client" in body["detail"]
    assert missing == 400


def test_a_browser_session_needs_csrf_for_apply(client_as, mlflow_sessions):
    client = client_as("operator")
    _, plan = _plan(client, kind="selection", sessions=mlflow_sessions)
    client.handler.enforce_csrf_checks = True

    response = _apply(client, plan["plan_id"])

    assert "CSRF" in assert_problem(response, 403)["detail"]
    assert RevocationJob.objects.count() == 0


def test_another_realms_job_is_403_and_a_missing_one_404(bearer_for, db):
    job = RevocationJob.objects.create(
        realm="master", action="bulk_revocation", label="x", actor_username="a", reason="r"
    )

    assert_problem(bearer_for("operator").get(f"{API}/revocation/jobs/{job.pk}"), 403)
    assert_problem(bearer_for("admin").get(f"{API}/revocation/jobs/999999"), 404)


def _put(client: Client, version: str | None, **body):
    headers = {"If-Match": f'"{version}"'} if version else {}
    return client.put(
        f"{API}/lifespans/realms/mlflow",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_lifespans_read_dry_run_then_write_with_if_match(kc, client_as, mlflow_sessions):
    client = client_as("operator")
    read = client.get(f"{API}/lifespans/realms/mlflow")
    version = read.json()["version"]
    assert read["ETag"] == f'"{version}"'

    dry = _put(client, version, values={"ssoSessionMaxLifespan": "1m"}, dry_run=True)
    assert dry.status_code == 200, dry.content
    assert dry.json()["applied"] is False
    assert dry.json()["changes"][0]["name"] == "ssoSessionMaxLifespan"
    assert dry.json()["impact"]["sessions"] >= 2
    assert kc.admin("mlflow").get_realm("mlflow")["ssoSessionMaxLifespan"] == 36000

    wrote = _put(client, version, values={"ssoSessionMaxLifespan": 43200})
    assert wrote.status_code == 200, wrote.content
    assert wrote.json()["applied"] is True
    assert wrote.json()["version"] != version
    assert kc.admin("mlflow").get_realm("mlflow")["ssoSessionMaxLifespan"] == 43200

    stale = _put(client, version, values={"ssoSessionMaxLifespan": 36000})
    missing = _put(client, None, values={"ssoSessionMaxLifespan": 36000})
    assert "changed in Keycloak" in assert_problem(stale, 412)["detail"]
    assert "If-Match" in assert_problem(missing, 428)["detail"]
    assert kc.admin("mlflow").get_realm("mlflow")["ssoSessionMaxLifespan"] == 43200
    kc.admin("mlflow").update_realm("mlflow", {"ssoSessionMaxLifespan": 36000})


def test_lifespans_bad_values_are_400_and_a_viewer_may_not_write(client_as, bearer_for, db):
    client = client_as("operator")
    version = client.get(f"{API}/lifespans/realms/mlflow").json()["version"]

    unknown = _put(client, version, values={"password": 1})
    unitless = _put(client, version, values={"ssoSessionMaxLifespan": "45"})
    viewer = _put(bearer_for("viewer"), version, values={"ssoSessionMaxLifespan": 1})

    assert "Unknown lifespan fields: password" in assert_problem(unknown, 400)["detail"]
    assert assert_problem(unitless, 400)["detail"]
    assert "manage-realm on mlflow" in assert_problem(viewer, 403)["detail"]


def test_one_users_and_one_clients_sessions_live(kc, bearer_for, mlflow_sessions):
    admin = kc.admin("mlflow")
    user_id = admin.get_user_id("mlflow_user")
    client_uuid = admin.get_client_id("mlflow")
    viewer = bearer_for("viewer")

    mine = viewer.get(f"{API}/realms/mlflow/users/{user_id}/sessions")
    theirs = viewer.get(f"{API}/realms/mlflow/clients/{client_uuid}/sessions", {"max": 500})
    missing = viewer.get(f"{API}/realms/mlflow/users/no-such-user/sessions")
    bad_page = viewer.get(f"{API}/realms/mlflow/clients/{client_uuid}/sessions", {"max": 0})

    assert set(mlflow_sessions) <= {s["session_id"] for s in mine.json()}
    assert set(mlflow_sessions) <= {s["session_id"] for s in theirs.json()["items"]}
    assert theirs.json()["client_id"] == "mlflow"
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    assert_problem(bad_page, 400)


def test_the_ledger_names_the_api_callers_revocation(client_as, bearer_for, mlflow_sessions):
    operator = bearer_for("operator")
    _, plan = _plan(operator, kind="selection", sessions=mlflow_sessions)
    assert _apply(operator, plan["plan_id"]).status_code == 202

    entries = operator.get(f"{API}/ledger", {"realm": "mlflow", "actor": "operator"}).json()
    bad_date = operator.get(f"{API}/ledger", {"since": "yesterday"})
    outsider = bearer_for("outsider").get(f"{API}/ledger")

    assert entries["items"][0]["reason"] == "off-boarding"
    assert entries["items"][0]["actor"] == "operator"
    assert "since" in assert_problem(bad_date, 400)["detail"]
    assert_problem(outsider, 403)


def test_reports_list_run_now_and_runs(bearer_for, db):
    from tests.reports.conftest import report_create

    mlflow = report_create(name="mlflow expiry", realms=["mlflow"])
    both = report_create(name="both realms", realms=["master", "mlflow"])
    viewer = bearer_for("viewer")

    listed = viewer.get(f"{API}/reports").json()
    ran = viewer.post(f"{API}/reports/{mlflow.pk}/runs")
    runs = viewer.get(f"{API}/reports/{mlflow.pk}/runs").json()

    assert [r["name"] for r in listed] == ["mlflow expiry"]
    assert ran.status_code == 202 and ran.json()["manual"] is True
    assert [r["id"] for r in runs] == [ran.json()["id"]]
    assert_problem(viewer.post(f"{API}/reports/{both.pk}/runs"), 403)
    assert_problem(viewer.get(f"{API}/reports/999999/runs"), 404)
    assert_problem(bearer_for("outsider").get(f"{API}/reports"), 403)


def test_keycloak_failing_is_a_503_problem_not_a_500(kc, bearer_for):
    client = bearer_for("admin")
    kc.fault("/admin/realms", status=500)
    try:
        response = client.get(f"{API}/realms")
    finally:
        kc.clear_faults()

    body = assert_problem(response, 503)
    assert "Keycloak" in body["title"]


def test_a_locked_database_is_a_503_problem(bearer_for, db, monkeypatch):
    from django.db import OperationalError

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("tokenadmin.api.ledger.ledger_entries_visible_select", locked)

    body = assert_problem(bearer_for("admin").get(f"{API}/ledger"), 503)
    assert "busy" in body["detail"]
