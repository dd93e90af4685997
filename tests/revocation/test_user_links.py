"""Every place that names a user links the one user page (issue #16): job items and the ledger."""

from django.urls import reverse

from tests.fixtures.jobs import finished_job
from tokenadmin.ledger.services import ledger_entry_create


def test_a_jobs_items_and_the_ledger_link_the_user_page(client_as, db):
    job = finished_job(
        label="sessions of mlflow_user",
        session_id="s1",
        user_id="u-1",
        username="mlflow_user",
        state="done",
    )
    ledger_entry_create(
        actor=None,
        action="user_signed_out",
        realm="mlflow",
        target_type="user",
        target_id="u-1",
        target_label="mlflow_user",
    )
    ledger_entry_create(
        actor=None,
        action="session_revoked",
        realm="mlflow",
        target_type="session",
        target_id="s2",
        target_label="mlflow_user from 10.0.0.1",
        before={"user_id": "u-1", "username": "mlflow_user"},
    )
    client = client_as("operator")
    user_page = reverse("sessions:user", args=["mlflow", "u-1"])

    job_page = client.get(reverse("revocation:job", args=[job.pk])).content.decode()
    ledger = client.get(reverse("ledger:index")).content.decode()

    assert f'<a href="{user_page}" data-testid="job-user-link">mlflow_user</a>' in job_page
    assert ledger.count(f'<a href="{user_page}" data-testid="ledger-user-link">') == 2
