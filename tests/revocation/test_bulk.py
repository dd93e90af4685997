import json
from datetime import UTC, datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from tokenadmin.revocation.bulk import (
    OWN_SESSION_WHY,
    Kind,
    Recipe,
    revocation_job_create,
    revocation_plan_build,
)
from tokenadmin.revocation.jobs import job_counts, revocation_job_run
from tokenadmin.revocation.models import RevocationItem
from tokenadmin.sessionindex.models import IndexedSession


def mlflow_offline_sessions(kc) -> list[dict]:
    admin = kc.admin("mlflow")
    uuid = admin.get_client_id("mlflow")
    return admin.connection.raw_get(
        f"admin/realms/mlflow/clients/{uuid}/offline-sessions", first=0, max=1000
    ).json()


def index_like_a_refresh(kc, realm: str, username: str) -> list[str]:
    """Put a user's live sessions into the index, as the index refresh would."""
    admin = kc.admin(realm)
    user_id = admin.get_user_id(username)
    ids = []
    for s in admin.get_sessions(user_id):
        IndexedSession.objects.create(
            realm=realm,
            session_id=s["id"],
            user_id=user_id,
            username=username,
            ip_address=s["ipAddress"],
            started_at=datetime.fromtimestamp(s["start"] / 1000, tz=UTC),
            last_access_at=datetime.fromtimestamp(s["lastAccess"] / 1000, tz=UTC),
            clients=s["clients"],
            client_ids_text=" " + " ".join(s["clients"].values()) + " ",
            seen_at=timezone.now(),
        )
        ids.append(s["id"])
    return ids


def run(plan, actor):
    job = revocation_job_create(plan=plan, actor=actor, reason="test")
    revocation_job_run(job_id=job.pk)
    return job_counts(job)


def revoked_ids() -> set[str]:
    return set(
        RevocationItem.objects.filter(state=RevocationItem.State.DONE).values_list(
            "session_id", flat=True
        )
    )


def test_offline_tokens_of_a_client_older_than_n_days_go_and_younger_ones_stay(kc, acting_as):
    kc.seed(realm="mlflow", users=20, sessions=200, offline_ratio=0.5, clients=["mlflow"])
    operator = acting_as("operator")
    cutoff_ms = (timezone.now() - timedelta(days=30)).timestamp() * 1000
    before = mlflow_offline_sessions(kc)
    old = {s["id"] for s in before if s["start"] < cutoff_ms}
    assert old and len(old) < len(before)

    plan = revocation_plan_build(
        admin=operator.gateway,
        realm="mlflow",
        recipe=Recipe(kind=Kind.OFFLINE_OLDER_THAN, client_id="mlflow", older_than_days=30),
        own_session_id=operator.session_id,
    )
    counts = run(plan, operator.user)

    assert plan.count is None  # the index was never refreshed: the job reads Keycloak
    assert revoked_ids() == old
    assert counts.done == len(old)
    assert {s["id"] for s in mlflow_offline_sessions(kc)} == {s["id"] for s in before} - old


def test_a_selection_from_the_sessions_browser_revokes_exactly_the_ticked_sessions(kc, acting_as):
    operator = acting_as("operator")
    ticked, kept = index_like_a_refresh(kc, "mlflow", "mlflow_user")

    plan = revocation_plan_build(
        admin=operator.gateway,
        realm="mlflow",
        recipe=Recipe(kind=Kind.SELECTION, sessions=(ticked,)),
        own_session_id=operator.session_id,
    )
    counts = run(plan, operator.user)

    assert plan.sample[0].username == "mlflow_user"
    assert counts.done == 1
    indexed = IndexedSession.objects.filter(realm="mlflow").values_list("session_id", flat=True)
    assert list(indexed) == [kept]  # the sessions page no longer lists the revoked one
    user_id = kc.admin("mlflow").get_user_id("mlflow_user")
    assert {s["id"] for s in kc.admin("mlflow").get_sessions(user_id)} == {kept}


def test_a_filter_recipe_takes_the_sessions_pages_query_and_spares_the_admin(kc, acting_as):
    admin = acting_as("admin")
    index_like_a_refresh(kc, "master", "admin")
    index_like_a_refresh(kc, "master", "wallaroo_user")

    plan = revocation_plan_build(
        admin=admin.gateway,
        realm="master",
        recipe=Recipe(kind=Kind.FILTER, query={"type": "regular"}),
        own_session_id=admin.session_id,
    )

    assert admin.session_id not in {t.session_id for t in plan.sample}
    assert plan.excluded == (
        {"session_id": admin.session_id, "username": "admin", "why": OWN_SESSION_WHY},
    )
    assert "wallaroo_user" in {t.username for t in plan.sample}
    assert plan.count == IndexedSession.objects.filter(realm="master").count() - 1


def test_the_progress_poll_stops_with_htmxs_286_once_the_job_is_done(kc, acting_as, client_as):
    operator = acting_as("operator")
    ticked, _kept = index_like_a_refresh(kc, "mlflow", "mlflow_user")
    plan = revocation_plan_build(
        admin=operator.gateway,
        realm="mlflow",
        recipe=Recipe(kind=Kind.SELECTION, sessions=(ticked,)),
        own_session_id=operator.session_id,
    )
    job = revocation_job_create(plan=plan, actor=operator.user, reason="test")
    client = client_as("operator")
    url = reverse("revocation:job-progress", args=[job.pk])

    waiting = client.get(url, headers={"HX-Request": "true"})
    revocation_job_run(job_id=job.pk)
    done = client.get(url, headers={"HX-Request": "true"})

    assert waiting.status_code == 200 and "HX-Trigger" not in waiting
    assert done.status_code == 286
    assert json.loads(done["HX-Trigger"]) == {"revocation-job-finished": {}}
    assert 'data-state="done"' in done.content.decode()
