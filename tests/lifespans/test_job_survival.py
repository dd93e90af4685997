from tokenadmin.lifespans.survival import job_survival_check

HOUR = 3600
MLFLOW_REALM = {
    "accessTokenLifespan": 300,
    "ssoSessionIdleTimeout": 1800,
    "ssoSessionMaxLifespan": 36000,
}
MASTER_REALM = {**MLFLOW_REALM, "accessTokenLifespan": 60}
API_CLIENT = {"access.token.lifespan": "3600"}


def check(realm, attributes, client_id, hours, refresh=True, offline=False):
    return job_survival_check(
        realm_lifespans=realm,
        client_attributes=attributes,
        client_id=client_id,
        job_s=int(hours * HOUR),
        refresh=refresh,
        offline=offline,
    )


def test_a_9_hour_mlflow_job_that_refreshes_survives_the_10_hour_sso_max():
    verdict = check(MLFLOW_REALM, {}, "mlflow", 9)
    assert verdict.survives
    assert verdict.lasts_s == 10 * HOUR
    assert verdict.fix == ""


def test_an_11_hour_mlflow_job_is_ended_by_sso_session_max_and_the_fix_says_what_to_raise():
    verdict = check(MLFLOW_REALM, {}, "mlflow", 11)
    assert not verdict.survives
    assert verdict.ends_by_field == "ssoSessionMaxLifespan"
    assert "SSO Session Max (10 h) ends the session after 10 h" in verdict.explanation
    assert "raise SSO Session Max to 12h" in verdict.fix
    assert "offline token" in verdict.fix


def test_an_11_hour_mlflow_job_with_an_offline_token_survives():
    verdict = check(MLFLOW_REALM, {}, "mlflow", 11, offline=True)
    assert verdict.survives
    assert verdict.lasts_s is None


def test_a_2_hour_api_client_job_without_refresh_fails_on_access_token_lifespan():
    verdict = check(MASTER_REALM, API_CLIENT, "api-client", 2, refresh=False)
    assert not verdict.survives
    assert verdict.ends_by_field == "access.token.lifespan"
    assert verdict.lasts_s == HOUR
    assert "the access token expires after 1 h" in verdict.explanation.lower()
    assert "does not refresh" in verdict.explanation
    assert "refresh" in verdict.fix


def test_a_45_minute_api_client_job_without_refresh_survives_on_its_60_minute_token():
    assert check(MASTER_REALM, API_CLIENT, "api-client", 0.75, refresh=False).survives


def test_a_token_longer_than_idle_means_refreshing_at_expiry_comes_too_late():
    verdict = check(MASTER_REALM, API_CLIENT, "api-client", 2)
    assert not verdict.survives
    assert verdict.ends_by == "SSO Session Idle"


def test_a_client_session_max_override_ends_the_job_before_sso_max():
    verdict = check(MLFLOW_REALM, {"client.session.max.lifespan": str(4 * HOUR)}, "mlflow", 5)
    assert verdict.ends_by == "Client Session Max of mlflow"
    assert "raise Client Session Max of mlflow to 6h" in verdict.fix


def test_offline_tokens_end_at_the_offline_max_when_the_realm_limits_them():
    realm = {
        **MLFLOW_REALM,
        "offlineSessionMaxLifespanEnabled": True,
        "offlineSessionMaxLifespan": 86400,
    }
    verdict = check(realm, {}, "mlflow", 30, offline=True)
    assert not verdict.survives
    assert verdict.ends_by == "Offline Session Max"
