from tokenadmin.core.durations import duration_format
from tokenadmin.lifespans.catalog import FIELDS, lifespan_values_of
from tokenadmin.lifespans.validation import (
    errors_of,
    lifespans_check,
    lifespans_form_parse,
    warnings_of,
)

KEYCLOAK_DEFAULTS = lifespan_values_of({})


def form_of(values, **typed):
    data = {}
    for field in FIELDS:
        value = values[field.name]
        if field.kind == "switch":
            if value:
                data[field.name] = "on"
        elif field.kind == "count":
            data[field.name] = str(value)
        else:
            data[field.name] = duration_format(value)
    data.update(typed)
    return data


def messages(findings):
    return " | ".join(f.message for f in findings)


def test_keycloak_defaults_raise_nothing():
    assert lifespans_check(KEYCLOAK_DEFAULTS) == []


def test_the_form_gives_back_the_values_it_was_filled_with():
    parsed = lifespans_form_parse(form_of(KEYCLOAK_DEFAULTS))
    assert parsed.errors == {}
    assert parsed.values == KEYCLOAK_DEFAULTS


def test_text_that_is_no_duration_is_an_error_and_is_kept_as_typed():
    parsed = lifespans_form_parse(form_of(KEYCLOAK_DEFAULTS, ssoSessionMaxLifespan="ten hours"))
    assert "SSO Session Max" in parsed.errors["ssoSessionMaxLifespan"]
    assert parsed.typed["ssoSessionMaxLifespan"] == "ten hours"


def test_a_reuse_count_must_be_a_whole_number():
    parsed = lifespans_form_parse(form_of(KEYCLOAK_DEFAULTS, refreshTokenMaxReuse="1h"))
    assert "whole number" in parsed.errors["refreshTokenMaxReuse"]


def test_negative_values_are_errors_naming_the_field():
    findings = lifespans_check({**KEYCLOAK_DEFAULTS, "ssoSessionIdleTimeout": -60})
    assert [f.fields for f in errors_of(findings)] == [("ssoSessionIdleTimeout",)]
    assert "SSO Session Idle cannot be negative" in messages(findings)


def test_values_beyond_a_java_int_are_errors():
    findings = lifespans_check({**KEYCLOAK_DEFAULTS, "offlineSessionIdleTimeout": 2**31})
    assert "too large" in messages(errors_of(findings))


def test_zero_login_and_user_action_lifespans_are_refused_as_keycloak_does():
    findings = lifespans_check(
        {**KEYCLOAK_DEFAULTS, "accessCodeLifespanLogin": 0, "accessCodeLifespanUserAction": 0}
    )
    assert {f.fields[0] for f in errors_of(findings)} == {
        "accessCodeLifespanLogin",
        "accessCodeLifespanUserAction",
    }
    assert "Keycloak refuses it" in messages(findings)


def test_an_access_token_longer_than_sso_idle_is_a_warning():
    findings = lifespans_check({**KEYCLOAK_DEFAULTS, "accessTokenLifespan": 3600})
    assert errors_of(findings) == []
    warning = warnings_of(findings)[0]
    assert warning.fields == ("accessTokenLifespan", "ssoSessionIdleTimeout")
    assert "Access Token Lifespan (1 h) is longer than SSO Session Idle (30 min)" in warning.message


def test_an_access_token_longer_than_a_shorter_client_idle_names_client_idle():
    findings = lifespans_check(
        {**KEYCLOAK_DEFAULTS, "accessTokenLifespan": 900, "clientSessionIdleTimeout": 600}
    )
    assert "longer than Client Session Idle (10 min)" in messages(findings)


def test_client_values_above_the_sso_values_have_no_effect():
    findings = lifespans_check(
        {**KEYCLOAK_DEFAULTS, "clientSessionMaxLifespan": 43200, "clientSessionIdleTimeout": 3600}
    )
    text = messages(warnings_of(findings))
    assert "Client Session Max (12 h) is longer than SSO Session Max (10 h)" in text
    assert "Client Session Idle (1 h) is longer than SSO Session Idle (30 min)" in text


def test_offline_max_below_offline_idle_is_a_warning_only_when_enabled():
    values = {**KEYCLOAK_DEFAULTS, "offlineSessionMaxLifespan": 86400}
    assert lifespans_check(values) == []
    findings = lifespans_check({**values, "offlineSessionMaxLifespanEnabled": True})
    assert "Offline Session Max (1 d) is shorter than Offline Session Idle (30 d)" in messages(
        findings
    )


def test_remember_me_shorter_than_normal_has_no_effect():
    findings = lifespans_check(
        {**KEYCLOAK_DEFAULTS, "rememberMe": True, "ssoSessionMaxLifespanRememberMe": 3600}
    )
    assert "SSO Session Max Remember Me (1 h) is shorter than SSO Session Max (10 h)" in messages(
        findings
    )


def test_max_reuse_without_rotation_is_a_warning():
    findings = lifespans_check({**KEYCLOAK_DEFAULTS, "refreshTokenMaxReuse": 2})
    assert findings[0].fields == ("refreshTokenMaxReuse", "revokeRefreshToken")
    assert (
        lifespans_check(
            {**KEYCLOAK_DEFAULTS, "refreshTokenMaxReuse": 2, "revokeRefreshToken": True}
        )
        == []
    )


def test_a_bare_number_is_refused_with_how_to_write_it():
    parsed = lifespans_form_parse(form_of(KEYCLOAK_DEFAULTS, ssoSessionMaxLifespan="600"))
    assert "has no unit: write 600s for seconds" in parsed.errors["ssoSessionMaxLifespan"]
    assert parsed.typed["ssoSessionMaxLifespan"] == "600"
