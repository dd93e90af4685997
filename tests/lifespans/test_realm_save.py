"""Saving realm lifespans through the page, against the emulator over HTTP."""

import re

import pytest

from tokenadmin.ledger.models import Action, LedgerEntry
from tokenadmin.lifespans.catalog import lifespan_values_of
from tokenadmin.lifespans.editing import input_texts, values_token
from tokenadmin.lifespans.models import LifespanSnapshot

SAVE = "/lifespans/mlflow/save/"
HTMX = {"HX-Request": "true"}


def form_data(values, **overrides):
    data = {}
    for name, text in input_texts(values).items():
        if isinstance(text, bool):
            if text:
                data[name] = "on"
        else:
            data[name] = text
    data.update(overrides)
    return data


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name}"
    return match.group(1)


@pytest.fixture
def mlflow_rep(kc):
    return kc.admin().get_realm("mlflow")


def test_the_page_shows_every_setting_in_human_units_with_keycloak_defaults(client_as, kc):
    page = client_as("operator").get("/lifespans/mlflow/").content.decode()
    for label in (
        "SSO Session Max",
        "Client Session Idle",
        "Offline Session Max Limited",
        "Access Token Lifespan For Implicit Flow",
        "Login timeout",
        "Default admin-initiated action lifespan",
        "Refresh Token Max Reuse",
    ):
        assert label in page
    assert 'name="ssoSessionMaxLifespan" value="10h"' in page
    assert 'name="accessTokenLifespan" value="5m"' in page
    assert 'name="offlineSessionIdleTimeout" value="30d"' in page


def test_saving_changes_only_the_edited_fields_of_the_whole_realm(client_as, kc, mlflow_rep):
    client = client_as("operator")
    page = client.get("/lifespans/mlflow/").content.decode()
    loaded = hidden(page, "loaded")
    values = lifespan_values_of(mlflow_rep)
    data = form_data(values, ssoSessionMaxLifespan="12h", accessTokenLifespan="10m", loaded=loaded)

    review = client.post(SAVE, {**data, "step": "review"}, headers=HTMX).content.decode()
    assert 'data-testid="review"' in review
    assert "10 h" in review and "12 h" in review
    assert kc.admin().get_realm("mlflow") == mlflow_rep  # nothing written by a review

    reviewed = hidden(review, "reviewed")
    saved = client.post(SAVE, {**data, "step": "confirm", "reviewed": reviewed}, headers=HTMX)
    assert 'data-testid="saved"' in saved.content.decode(), saved.content.decode()

    after = kc.admin().get_realm("mlflow")
    differing = {k for k in set(after) | set(mlflow_rep) if after.get(k) != mlflow_rep.get(k)}
    assert differing - {"attributes"} == {"ssoSessionMaxLifespan", "accessTokenLifespan"}
    # Keycloak 26.7.3 mirrors the client-session lifespans it is sent into `attributes`
    # (tests/parity realm_update_read_modify_write); the other attributes stay.
    assert after["attributes"].items() >= mlflow_rep["attributes"].items()
    assert after["ssoSessionMaxLifespan"] == 43200
    assert after["accessTokenLifespan"] == 600

    entry = LedgerEntry.objects.get(action=Action.LIFESPANS_UPDATED, realm="mlflow")
    assert {"field": "ssoSessionMaxLifespan", "value": 36000} in entry.before
    assert {"field": "ssoSessionMaxLifespan", "value": 43200} in entry.after
    kinds = set(LifespanSnapshot.objects.filter(realm="mlflow").values_list("kind", flat=True))
    assert kinds == {"before_save", "approved"}


def test_a_change_made_in_keycloak_meanwhile_is_shown_and_never_overwritten(
    client_as, kc, mlflow_rep
):
    client = client_as("operator")
    loaded = hidden(client.get("/lifespans/mlflow/").content.decode(), "loaded")
    values = lifespan_values_of(mlflow_rep)
    # Someone else shortens the idle timeout straight in Keycloak.
    kc.admin().update_realm("mlflow", {**mlflow_rep, "ssoSessionIdleTimeout": 900})

    data = form_data(values, ssoSessionMaxLifespan="12h", loaded=loaded)
    answer = client.post(SAVE, {**data, "step": "review"}, headers=HTMX).content.decode()
    assert 'data-testid="conflict"' in answer
    assert "SSO Session Idle: 30 min when you loaded" in answer
    assert "15 min" in answer

    # Even a confirm with a forged review token does not write over it.
    forged = values_token({**values, "ssoSessionMaxLifespan": 43200})
    client.post(SAVE, {**data, "step": "confirm", "reviewed": forged}, headers=HTMX)
    now = kc.admin().get_realm("mlflow")
    assert now["ssoSessionIdleTimeout"] == 900
    assert now["ssoSessionMaxLifespan"] == 36000

    merged = client.post(SAVE, {**data, "step": "merge"}, headers=HTMX).content.decode()
    assert 'name="ssoSessionIdleTimeout" value="15m"' in merged
    assert 'name="ssoSessionMaxLifespan" value="12h"' in merged


def test_an_impossible_value_is_refused_and_what_was_typed_is_kept(client_as, kc, mlflow_rep):
    client = client_as("operator")
    loaded = hidden(client.get("/lifespans/mlflow/").content.decode(), "loaded")
    data = form_data(
        lifespan_values_of(mlflow_rep),
        ssoSessionMaxLifespan="ten hours",
        accessCodeLifespanLogin="0",
        accessTokenLifespan="7m",
        loaded=loaded,
    )
    answer = client.post(SAVE, {**data, "step": "review"}, headers=HTMX)
    page = answer.content.decode()
    assert answer.status_code == 200
    assert "“ten hours” is not a duration" in page
    assert 'name="ssoSessionMaxLifespan" value="ten hours"' in page
    assert 'name="accessTokenLifespan" value="7m"' in page
    assert kc.admin().get_realm("mlflow") == mlflow_rep


def test_warnings_stop_the_save_until_ticked(client_as, kc, mlflow_rep):
    client = client_as("operator")
    loaded = hidden(client.get("/lifespans/mlflow/").content.decode(), "loaded")
    data = form_data(lifespan_values_of(mlflow_rep), accessTokenLifespan="1h", loaded=loaded)
    page = client.post(SAVE, {**data, "step": "review"}, headers=HTMX).content.decode()
    assert 'data-testid="warnings"' in page
    assert 'data-testid="review"' not in page
    assert "Access Token Lifespan (1 h) is longer than SSO Session Idle (30 min)" in page
    page = client.post(
        SAVE, {**data, "step": "review", "accept_warnings": "on"}, headers=HTMX
    ).content.decode()
    assert 'data-testid="review"' in page


def test_a_viewer_sees_the_settings_but_cannot_save(client_as, kc, mlflow_rep):
    client = client_as("viewer")
    page = client.get("/lifespans/mlflow/").content.decode()
    assert 'data-testid="read-only"' in page
    assert 'data-testid="review-button"' not in page
    data = form_data(
        lifespan_values_of(mlflow_rep), loaded=values_token(lifespan_values_of(mlflow_rep))
    )
    answer = client.post(SAVE, {**data, "step": "confirm"}, headers=HTMX)
    assert answer.status_code == 403
    assert kc.admin().get_realm("mlflow") == mlflow_rep


def test_an_outsider_cannot_even_view(client_as, kc):
    assert client_as("outsider").get("/lifespans/mlflow/").status_code == 403


def test_the_realm_picker_lists_only_realms_the_admin_may_view(client_as, kc):
    page = client_as("viewer").get("/lifespans/").content.decode()
    assert 'data-realm="mlflow"' in page
    assert 'data-realm="master"' not in page
