"""Findings 2 and 3: user and session data need view-users on their realm wherever they show
(job pages, job items, the ledger and its CSV); no admin role at all means the 403 page."""

from tests.fixtures.jobs import finished_job
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import ledger_entry_create
from tokenadmin.revocation.models import RevocationItem, RevocationJob

SECRET_USER = "mlflow_user_7f3a"
SECRET_IP = "203.0.113.77"
SECRET_SID = "sid-5e55-1011"


def _mlflow_job() -> RevocationJob:
    return finished_job(
        label=f"sessions of {SECRET_USER}",
        reason="laptop stolen",
        session_id=SECRET_SID,
        username=SECRET_USER,
        ip_address=SECRET_IP,
        state=RevocationItem.State.DONE,
    )


def _mlflow_entries() -> None:
    ledger_entry_create(
        actor=None,
        action=Action.SESSION_REVOKED,
        realm="mlflow",
        target_type="session",
        target_id=SECRET_SID,
        target_label=f"{SECRET_USER} on {SECRET_IP}",
        before={"username": SECRET_USER, "ipAddress": SECRET_IP},
    )
    ledger_entry_create(
        actor=None,
        action=Action.LIFESPANS_UPDATED,
        realm="mlflow",
        target_label="mlflow",
        before={"accessTokenLifespan": 300},
        after={"accessTokenLifespan": 600},
    )


def _text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _shows_user_data(text: str) -> bool:
    return any(secret in text for secret in (SECRET_USER, SECRET_IP, SECRET_SID))


def test_view_realm_alone_shows_no_job_and_no_user_data_in_the_ledger(client_as, kc):
    job = _mlflow_job()
    _mlflow_entries()
    client = client_as("realmviewer")

    for url in (
        f"/revocations/jobs/{job.pk}/",
        f"/revocations/jobs/{job.pk}/items/",
        f"/revocations/jobs/{job.pk}/progress/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert not _shows_user_data(_text(response)), url
    assert not _shows_user_data(_text(client.get("/revocations/")))
    ledger = _text(client.get("/ledger/"))
    ledger_csv = _text(client.get("/ledger/export.csv"))
    assert not _shows_user_data(ledger) and not _shows_user_data(ledger_csv)
    # The realm's settings changes are still theirs to read.
    assert "accessTokenLifespan" in ledger_csv


def test_view_users_shows_the_job_and_the_ledger_entry(client_as, kc):
    job = _mlflow_job()
    _mlflow_entries()
    client = client_as("viewer")

    assert SECRET_IP in _text(client.get(f"/revocations/jobs/{job.pk}/items/", follow=True))
    assert SECRET_USER in _text(client.get("/revocations/"))
    assert SECRET_IP in _text(client.get("/ledger/export.csv"))


def test_no_admin_role_gets_the_403_page_on_the_ledger_and_revocations(client_as, kc):
    _mlflow_entries()
    client = client_as("outsider")

    for url in ("/ledger/", "/ledger/export.csv", "/revocations/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "roles" in _text(response), url
