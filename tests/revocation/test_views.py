import re

from django.urls import reverse

from tokenadmin.ledger.models import LedgerEntry

HTMX = {"HX-Request": "true"}


def mlflow_user_session(kc):
    tokens = kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret"
    )
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    return user_id, tokens["session_state"]


def online_ids(kc, realm, user_id):
    return {s["id"] for s in kc.admin(realm).get_sessions(user_id)}


def test_a_viewer_gets_403_and_no_revoke_buttons(kc, client_as):
    user_id, session_id = mlflow_user_session(kc)
    client = client_as("viewer")

    page = client.get(reverse("sessions:user", args=["mlflow", user_id]))
    response = client.post(
        reverse("revocation:revoke-session", args=["mlflow", user_id, session_id]), headers=HTMX
    )

    assert page.status_code == 200
    assert b'data-testid="revoke-session"' not in page.content
    assert response.status_code == 403
    assert session_id in online_ids(kc, "mlflow", user_id)


def test_an_operator_signs_out_a_mlflow_session_and_sees_the_residual_risk(kc, client_as):
    user_id, session_id = mlflow_user_session(kc)
    client = client_as("operator")

    page = client.get(reverse("sessions:user", args=["mlflow", user_id]))
    response = client.post(
        reverse("revocation:revoke-session", args=["mlflow", user_id, session_id]),
        {"reason": "phished"},
        headers=HTMX,
    )

    assert b'data-testid="revoke-session"' in page.content
    assert response.status_code == 200
    assert "Access tokens already issued to mlflow stay valid for up to 5 min." in (
        response.content.decode()
    )
    assert session_id not in online_ids(kc, "mlflow", user_id)
    assert LedgerEntry.objects.get().reason == "phished"


def test_an_operator_may_not_act_on_master(kc, client_as):
    client = client_as("operator")
    user_id = kc.admin().get_user_id("wallaroo_user")

    response = client.post(
        reverse("revocation:sign-out-user", args=["master", user_id]), headers=HTMX
    )
    index = client.get(reverse("revocation:index"))

    assert response.status_code == 403
    assert b'data-realm="master"' not in index.content
    assert b'data-realm="mlflow"' in index.content


def test_a_keycloak_refusal_is_shown_inline_not_as_a_500(kc, client_as):
    user_id, session_id = mlflow_user_session(kc)
    client = client_as("operator")
    kc.fault(path=r"/admin/realms/mlflow/sessions/", method="DELETE", status=403)

    response = client.post(
        reverse("revocation:revoke-session", args=["mlflow", user_id, session_id]), headers=HTMX
    )

    assert response.status_code == 403
    assert b'data-testid="gateway-error"' in response.content
    assert b"your roles do not allow this" in response.content


def test_a_bulk_start_without_a_reason_is_refused_with_the_form_again(kc, client_as):
    client = client_as("operator")
    preview = client.get(
        reverse("revocation:bulk-preview", args=["mlflow"]), {"kind": "client", "client": "mlflow"}
    )
    plan = preview.context["form"]["plan"].value()

    response = client.post(
        reverse("revocation:bulk-start", args=["mlflow"]), {"plan": plan, "reason": ""}
    )

    assert response.status_code == 200
    assert b'data-testid="reason-error"' in response.content
    assert len(online_ids(kc, "mlflow", kc.admin("mlflow").get_user_id("mlflow_user"))) == 2


def test_the_admins_own_master_session_is_excluded_from_a_realm_wide_sign_out(kc, client_as):
    client = client_as("admin")
    admin_id = kc.admin().get_user_id("admin")
    own = client.session["keycloak_sid"]

    preview = client.get(reverse("revocation:realm-sign-out", args=["master"]), follow=True)
    plan = preview.context["form"]["plan"].value()
    wrong = client.post(
        reverse("revocation:bulk-start", args=["master"]),
        {"plan": plan, "reason": "incident", "confirm_realm": "mastr"},
    )
    done = client.post(
        reverse("revocation:bulk-start", args=["master"]),
        {"plan": plan, "reason": "incident", "confirm_realm": "master"},
        follow=True,
    )

    assert b'data-testid="preview-excluded"' in preview.content
    assert b'data-testid="confirm-error"' in wrong.content
    assert b'data-testid="job-done"' in done.content
    assert own in online_ids(kc, "master", admin_id)
    assert client.get(reverse("revocation:index")).status_code == 200  # still signed in
    wallaroo = kc.admin().get_user_id("wallaroo_user")
    assert online_ids(kc, "master", wallaroo) == set()


def test_a_saved_view_becomes_a_recipe_with_its_name_in_the_preview(kc, client_as):
    from tokenadmin.sessionindex.models import SavedView

    client = client_as("operator")
    view = SavedView.objects.create(
        name="Stale offline", realm="mlflow", query={"type": "offline", "idle_over": "7d"}
    )

    preview = client.get(
        reverse("revocation:bulk-preview", args=["mlflow"]), {"kind": "filter", "view": view.pk}
    )

    assert preview.status_code == 200
    assert "Sessions in saved view “Stale offline”" in preview.content.decode()
    assert b'data-testid="preview-empty"' in preview.content  # the index holds none yet


def test_finding_a_client_by_its_client_id_leads_straight_to_the_one_client_page(kc, client_as):
    uuid = kc.admin("mlflow").get_client_id("mlflow")
    client = client_as("viewer")

    found = client.get(reverse("revocation:client-find", args=["mlflow"]), {"client": "mlflow"})
    missing = client.get(reverse("revocation:client-find", args=["mlflow"]), {"client": "nope"})

    assert found.status_code == 302
    assert found["Location"] == reverse("sessions:client", args=["mlflow", uuid])
    assert missing.status_code == 404


def test_the_user_page_revoke_button_is_the_sessions_table_one(kc, client_as):
    """One renderer (sessionindex/rows_html.py) for every page's revoke button."""
    user_id, session_id = mlflow_user_session(kc)

    page = client_as("operator").get(reverse("sessions:user", args=["mlflow", user_id]))

    row = page.content.decode().split(f'<tr data-session-id="{session_id}"')[1].split("</tr>")[0]
    url = reverse("revocation:revoke-session", args=["mlflow", user_id, session_id])
    assert f'hx-post="{url}"' in row
    assert 'class="btn btn-outline-danger btn-sm py-0" data-testid="revoke-session"' in row
    assert re.search(
        r'hx-confirm="Sign out 1 session of mlflow_user \(mlflow\), started '
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+\? The user&#x27;s other sessions stay\.\"",
        row,
    )
