"""The job page's progress poll (every second while a job runs) reads a fixed, small number of
queries however many sessions the job holds."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tokenadmin.revocation.models import RevocationItem, RevocationJob

HTMX = {"HX-Request": "true"}
# The login session, its user, the job, and its counts by state (one GROUP BY).
PROGRESS_QUERIES_MAX = 4


def running_job(items: int) -> RevocationJob:
    job = RevocationJob.objects.create(
        realm="mlflow",
        action="bulk_revocation",
        label=f"{items} sessions",
        actor_username="operator",
        reason="test",
        total=items,
        state=RevocationJob.State.RUNNING,
    )
    RevocationItem.objects.bulk_create(
        RevocationItem(
            job=job,
            session_id=f"s-{n}",
            state=RevocationItem.State.DONE if n % 3 else RevocationItem.State.PENDING,
        )
        for n in range(items)
    )
    return job


def progress_queries(client, job: RevocationJob) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("revocation:job-progress", args=[job.pk]), headers=HTMX)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_progress_poll_reads_as_few_queries_for_a_big_job_as_for_a_small_one(kc, client_as):
    client = client_as("operator")
    small, big = running_job(3), running_job(600)
    progress_queries(client, small)  # the first request of a login may refresh its session

    small_page, small_queries = progress_queries(client, small)
    big_page, big_queries = progress_queries(client, big)

    assert "2 revoked" in small_page and "400 revoked" in big_page
    assert small_queries == big_queries <= PROGRESS_QUERIES_MAX, (small_queries, big_queries)


def test_a_job_still_listing_its_sessions_says_so(kc, client_as):
    client = client_as("operator")
    job = running_job(0)
    RevocationJob.objects.filter(pk=job.pk).update(targets_ready=False, total=1200)

    page = client.get(reverse("revocation:job", args=[job.pk])).content.decode()

    assert 'data-testid="job-listing"' in page
    assert 'data-testid="job-percent">0%<' in page
    assert "the total above is the preview's count until the list is complete" in page
