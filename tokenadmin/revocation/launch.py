"""From a recipe to a running job: the plan, the job, and where it runs (inline or queued)."""

import logging
from collections.abc import Callable

from django.db import transaction
from django.http import Http404

from tokenadmin.accounts.models import User
from tokenadmin.core.queue import task_enqueue
from tokenadmin.keycloak import Gateway, GatewayError
from tokenadmin.sessionindex.selectors import saved_views_select

from .bulk import Kind, Plan, Recipe, revocation_job_create, revocation_plan_build
from .jobs import revocation_job_retry_failed, revocation_job_run
from .models import RevocationJob
from .targets import revocation_job_targets_build
from .tasks import revocation_job_run_task

logger = logging.getLogger(__name__)

# Jobs this small run in the request, as the admin (Keycloak's admin events then name them).
INLINE_LIMIT = 25


def _group_resolved(admin: Gateway, realm: str, recipe: Recipe) -> Recipe:
    """A group named by id or by name/path; the page shows its name."""
    wanted = recipe.group_id
    for group in admin.groups_search(realm, wanted.strip("/").split("/")[-1]):
        if wanted in (group.id, group.name, group.path):
            return Recipe.from_dict(
                {**recipe.as_dict(), "group_id": group.id, "group_name": group.path or group.name}
            )
    raise Http404(f"No group {wanted!r} in {realm}")


def _user_resolved(admin: Gateway, realm: str, recipe: Recipe) -> Recipe:
    """A user named by username or id; the page shows the username."""
    wanted = recipe.user_id
    for user in admin.users_search(realm, wanted, max_=100):
        if wanted in (user.id, user.username):
            return Recipe.from_dict(
                {**recipe.as_dict(), "user_id": user.id, "user_name": user.username}
            )
    raise Http404(f"No user {wanted!r} in {realm}")


def revocation_plan_prepare(
    *, admin: Gateway, realm: str, recipe: Recipe, user: User, own_session_id: str
) -> Plan:
    """The plan for a recipe as the admin gave it: its group found by id, name or path, its
    saved view (one `user` may see) named. Http404 when either is not there."""
    if recipe.kind == Kind.GROUP and recipe.group_id:
        recipe = _group_resolved(admin, realm, recipe)
    if recipe.kind == Kind.USER and recipe.user_id:
        recipe = _user_resolved(admin, realm, recipe)
    if recipe.kind == Kind.FILTER and recipe.saved_view_id:
        view = saved_views_select(realm=realm, user=user).filter(pk=recipe.saved_view_id).first()
        if view is None:
            raise Http404("No such saved view")
        recipe = Recipe.from_dict({**recipe.as_dict(), "saved_view_name": view.name})
    return revocation_plan_build(
        admin=admin, realm=realm, recipe=recipe, own_session_id=own_session_id
    )


def revocation_job_start(
    *,
    job_id: int,
    count: int,
    gateway_factory: Callable[[], Gateway],
    queue_unreachable: Callable[[], None],
) -> None:
    """Run a job's `count` waiting sessions now when they are few (INLINE_LIMIT), as the admin
    `gateway_factory` gives; else queue the job once the transaction commits. With the task
    queue unreachable the job stays recorded, `queue_unreachable` is called (to tell the admin)
    and the sweeper queues it again once the queue is back (docs/FAULTS.md)."""
    if count <= INLINE_LIMIT:
        revocation_job_run(job_id=job_id, gateway_factory=gateway_factory, workers=1)
    else:
        _enqueue_on_commit(job_id, queue_unreachable)


def _enqueue_on_commit(job_id: int, queue_unreachable: Callable[[], None]) -> None:
    def enqueue() -> None:
        if not task_enqueue(revocation_job_run_task, job_id):
            queue_unreachable()

    transaction.on_commit(enqueue)


def revocation_bulk_start(
    *,
    admin: Gateway,
    plan: Plan,
    own_session_id: str,
    actor: User,
    reason: str,
    ticket: str,
    queue_unreachable: Callable[[], None],
) -> RevocationJob:
    """Record the job the preview showed (its signed plan) and start it: a small one (by the
    preview's count) is listed and run here, as the admin, listing at most INLINE_LIMIT + 1
    sessions before leaving a bigger one to a worker, which lists it again.
    Raises RevocationRefused when the plan may not run."""
    job = revocation_job_create(
        plan=plan,
        actor=actor,
        reason=reason,
        ticket=ticket,
        spared_session_ids=(own_session_id,),
    )
    if _listed_here(job, admin, previewed=plan.count):
        revocation_job_run(job_id=job.pk, gateway_factory=lambda: admin, workers=1)
    else:
        _enqueue_on_commit(job.pk, queue_unreachable)
    return job


def _listed_here(job: RevocationJob, admin: Gateway, *, previewed: int | None) -> bool:
    """True if the job is small enough to run in this request and is now listed; a bigger one
    (or one Keycloak would not list now) is left to a worker."""
    if previewed is not None and previewed > INLINE_LIMIT:
        return False
    try:
        listed = revocation_job_targets_build(job=job, admin=admin, stop_after=INLINE_LIMIT)
    except GatewayError:
        logger.warning("job %s: could not list its sessions here; a worker will", job.pk)
        return False
    return listed and job.total <= INLINE_LIMIT


def revocation_job_retry(
    *,
    job: RevocationJob,
    gateway_factory: Callable[[], Gateway],
    queue_unreachable: Callable[[], None],
) -> int:
    """Put a finished job's failed sessions back and start it again; how many went back."""
    reopened = revocation_job_retry_failed(job=job)
    if reopened:
        revocation_job_start(
            job_id=job.pk,
            count=reopened,
            gateway_factory=gateway_factory,
            queue_unreachable=queue_unreachable,
        )
    return reopened
