from tokenadmin.keycloak.revocation import PushResult
from tokenadmin.revocation.residual import access_lifespan_of, push_reach_lines


def test_a_clients_own_access_token_lifespan_wins_over_the_realms():
    assert access_lifespan_of({"access.token.lifespan": "3600"}, 300) == (3600, True)
    assert access_lifespan_of({"access.token.lifespan": ""}, 300) == (300, False)
    assert access_lifespan_of({}, 60) == (60, False)
    assert access_lifespan_of({"access.token.lifespan": "-1"}, 300) == (None, True)


def test_a_push_names_the_clients_it_reached_and_missed():
    result = PushResult.from_representation(
        {
            "successRequests": ["http://billing:8080/admin/"],
            "failedRequests": ["http://reports:9000"],
        }
    )

    lines = push_reach_lines(
        result,
        admin_urls={"http://billing:8080/admin": "billing", "http://reports:9000": "reports"},
    )

    assert lines == ["Reached: billing.", "Could not reach: reports."]


def test_an_empty_global_request_result_says_no_client_was_notified():
    lines = push_reach_lines(PushResult.from_representation({}), admin_urls={})

    assert lines[0].startswith("No client was notified")
