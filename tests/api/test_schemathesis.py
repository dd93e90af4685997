"""A bounded property-based run of schemathesis over the OpenAPI document, through the real
server (live_server) and the emulator: no 500, and every answer fits the document."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import SECRET
from tokenadmin.sessionindex.refresh import realm_index_refresh

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.django_db(transaction=True)
def test_no_500_and_answers_fit_the_schema(live_server, kc):
    token = kc.password_login("master", "tokenadmin", "admin", "admin", secret=SECRET)
    realm_index_refresh(realm="mlflow")
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    failures, statuses = [], []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.append(response.status_code)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert failures == [], "\n\n".join(failures)
    assert 200 in statuses and 400 in statuses  # it got through, and it tried bad input
