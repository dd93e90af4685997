"""Finding 6: four inputs that were 500s now get a clear message, and nothing is half-done."""

from urllib.parse import unquote

import pytest
from django.urls import resolve, reverse

from tokenadmin.ledger.models import LedgerEntry
from tokenadmin.ledger.selectors import DATE_OUT_OF_RANGE
from tokenadmin.revocation.bulk import SAVED_VIEW_GONE
from tokenadmin.revocation.models import RevocationJob
from tokenadmin.sessionindex.models import SavedView
from tokenadmin.sessionindex.refresh import realm_index_refresh

HTMX = {"HX-Request": "true"}
SLASHED = "team/tool"


def test_a_ledger_day_at_the_end_of_time_is_refused_not_a_500(client_as, kc):
    client = client_as("admin")

    page = client.get("/ledger/", {"until": "9999-12-31"})
    export = client.get("/ledger/export.csv", {"since": "9999-12-31", "until": "9999-12-31"})

    assert page.status_code == 200
    assert DATE_OUT_OF_RANGE in page.content.decode()
    assert export.status_code == 200


def test_a_client_id_with_a_slash_has_its_revocation_page(client_as, kc):
    kc.admin(realm_name="mlflow").create_client({"clientId": SLASHED, "publicClient": True})
    client = client_as("operator")

    found = client.get("/revocations/mlflow/clients/", {"client": SLASHED}, follow=True)
    pushed = client.post(reverse("revocation:client-push", args=["mlflow", SLASHED]))

    assert found.status_code == 200
    assert SLASHED in found.content.decode()
    assert found.resolver_match.url_name == "client"  # the one client page, by uuid
    assert f'hx-post="{reverse("revocation:client-push", args=["mlflow", SLASHED])}"' in (
        found.content.decode()
    )
    assert pushed.status_code == 200
    assert LedgerEntry.objects.get(action="push_revocation").target_label == SLASHED


def test_a_user_with_an_offline_token_of_a_slashed_client_has_a_user_page(client_as, kc):
    kc.admin().create_client(
        {"clientId": SLASHED, "publicClient": True, "directAccessGrantsEnabled": True}
    )
    kc.password_login("master", SLASHED, "wallaroo_user", "wallaroo_user", offline=True)
    user_id = kc.admin().get_user_id("wallaroo_user")
    client = client_as("admin")

    page = client.get(f"/revocations/master/users/{user_id}/", follow=True)
    revoke = reverse("revocation:revoke-consent", args=["master", user_id, SLASHED])
    revoked = client.post(revoke, {"reason": "left"}, headers=HTMX)

    assert page.status_code == 200
    assert revoke in page.content.decode()
    assert revoked.status_code == 200
    entry = LedgerEntry.objects.get(action="consent_revoked")
    assert SLASHED in entry.target_label
    admin = kc.admin()
    offline = admin.connection.raw_get(
        f"admin/realms/master/users/{user_id}/offline-sessions/{admin.get_client_id(SLASHED)}"
    )
    assert offline.json() == []


def test_a_bulk_revocation_whose_saved_view_went_away_starts_nothing(client_as, kc):
    realm_index_refresh(realm="mlflow")
    view = SavedView.objects.create(realm="mlflow", name="Everyone", query={})
    client = client_as("operator")
    preview = client.get(
        reverse("revocation:bulk-preview", args=["mlflow"]), {"kind": "filter", "view": view.pk}
    )
    plan = preview.context["form"]["plan"].value()
    view.delete()

    response = client.post(
        reverse("revocation:bulk-start", args=["mlflow"]), {"plan": plan, "reason": "x"}
    )

    assert response.status_code == 409
    assert SAVED_VIEW_GONE in response.content.decode()
    assert not RevocationJob.objects.exists()
    assert not LedgerEntry.objects.filter(action="bulk_revocation").exists()


@pytest.mark.parametrize(
    "client_id", ["team/tool", "100%", "a%2Fb", "https://app.example.org/saml"]
)
def test_a_client_id_survives_the_round_trip_through_its_url(client_id):
    url = reverse("revocation:client", args=["mlflow", client_id])
    # The server decodes the path once before routing, as WSGI does.
    assert resolve(unquote(url)).kwargs["client_id"] == client_id
