"""Bad input to every /api/v1/ operation, as an admin (so rights never answer first): 400 with a
problem body that says what is wrong, never a 500, and nothing changes in Keycloak."""

import pytest
from django.test import Client

from tests.api.conftest import SECRET
from tests.api.test_api import assert_problem
from tokenadmin.revocation.models import RevocationJob

API = "/api/v1"
JSON = "application/json"

# (label, method, path, body or None, extra headers, text the detail holds)
CASES = [
    ("limit 0", "get", "/realms/mlflow/sessions?limit=0", None, {}, "limit"),
    ("limit too big", "get", "/realms/mlflow/sessions?limit=501", None, {}, "limit"),
    ("limit not a number", "get", "/realms/mlflow/sessions?limit=lots", None, {}, "limit"),
    ("unknown sort", "get", "/realms/mlflow/sessions?sort=password", None, {}, "Sort"),
    ("unitless duration", "get", "/realms/mlflow/sessions?idle_over=45", None, {}, "Idle"),
    ("unknown format", "get", "/realms/mlflow/sessions?format=xml", None, {}, "format"),
    ("garbage cursor", "get", "/realms/mlflow/sessions?cursor=abc", None, {}, "cursor"),
    ("negative first", "get", "/realms/mlflow/clients/x/sessions?first=-1", None, {}, "first"),
    ("max 0", "get", "/realms/mlflow/clients/x/sessions?max=0", None, {}, "max"),
    ("plan: not JSON", "post", "/revocation/realms/mlflow/plans", "{", {}, ""),
    ("plan: a list", "post", "/revocation/realms/mlflow/plans", "[]", {}, ""),
    ("plan: no kind", "post", "/revocation/realms/mlflow/plans", "{}", {}, "kind"),
    ("plan: unknown kind", "post", "/revocation/realms/mlflow/plans", '{"kind": "x"}', {}, "kind"),
    (
        "plan: sessions not a list",
        "post",
        "/revocation/realms/mlflow/plans",
        '{"kind": "selection", "sessions": 5}',
        {},
        "sessions",
    ),
    (
        "plan: days not a number",
        "post",
        "/revocation/realms/mlflow/plans",
        '{"kind": "offline_older_than", "client": "mlflow", "older_than_days": "x"}',
        {},
        "older_than_days",
    ),
    ("apply: no plan id", "post", "/revocation/realms/mlflow/plans/apply", "{}", {}, "plan_id"),
    ("job items: limit 0", "get", "/revocation/jobs/{job}/items?limit=0", None, {}, "limit"),
    ("job items: after text", "get", "/revocation/jobs/{job}/items?after=x", None, {}, "after"),
    (
        "lifespans: values not a map",
        "put",
        "/lifespans/realms/mlflow",
        '{"values": 5}',
        {"If-Match": '"v"'},
        "values",
    ),
    ("ledger: bad date", "get", "/ledger?since=yesterday", None, {}, "since"),
    ("ledger: limit 0", "get", "/ledger?limit=0", None, {}, "limit"),
    ("ledger: garbage cursor", "get", "/ledger?cursor=abc", None, {}, "cursor"),
]


@pytest.fixture
def admin(kc, db) -> Client:
    token = kc.password_login("master", "tokenadmin", "admin", "admin", secret=SECRET)
    return Client(headers={"Authorization": f"Bearer {token['access_token']}"})


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "says"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_a_400_problem(method, path, body, headers, says, admin, kc):
    job = RevocationJob.objects.create(
        realm="mlflow", action="bulk_revocation", label="x", actor_username="a", reason="r"
    )
    url = API + path.replace("{job}", str(job.pk))
    before = kc.admin("mlflow").get_realm("mlflow")

    if body is None:
        response = getattr(admin, method)(url, headers=headers)
    else:
        response = getattr(admin, method)(url, body, content_type=JSON, headers=headers)

    problem = assert_problem(response, 400)
    assert says in problem["detail"]
    assert RevocationJob.objects.count() == 1
    assert kc.admin("mlflow").get_realm("mlflow") == before
