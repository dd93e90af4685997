"""Revocation over the API as plan, then apply: a signed plan with its exact count and a
sample, applied once into the existing bulk job; the jobs' status and items."""

import hashlib
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from tokenadmin.revocation.bulk import PLAN_MAX_AGE_S, Recipe, plan_load, plan_sign
from tokenadmin.revocation.forms import RecipeForm
from tokenadmin.revocation.jobs import job_counts
from tokenadmin.revocation.launch import revocation_bulk_start, revocation_plan_prepare
from tokenadmin.revocation.models import RevocationJob

from .auth import MANAGE_USERS, Caller, caller_of, require_right
from .models import AppliedPlan
from .schemas import ERRORS, ApplyIn, JobItemOut, JobOut, PlanIn, PlanOut, Problem, TargetOut

router = Router(tags=["revocation"])


@router.post(
    "/realms/{realm}/plans",
    auth=MANAGE_USERS,
    response={200: PlanOut, 409: Problem, **ERRORS},
    summary="Plan a revocation: exact count, a sample, an expiry; nothing is revoked",
)
def plan_create(request: HttpRequest, realm: str, body: PlanIn) -> PlanOut:
    caller = caller_of(request)

    form = RecipeForm(
        {
            "kind": body.kind,
            "client": body.client,
            "offline": body.offline,
            "older_than_days": body.older_than_days,
            "group": body.group,
            "user": body.user,
            "view": body.view,
        }
    )
    if not form.is_valid():
        texts = [f"{name}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()]
        raise HttpError(400, " ".join(texts))
    recipe: Recipe = form.recipe(query=body.query, sessions=body.sessions)
    plan = revocation_plan_prepare(
        admin=caller.gateway(),
        realm=realm,
        recipe=recipe,
        user=caller.user,
        own_session_id=caller.own_session_id,
    )
    return PlanOut(
        plan_id=plan_sign(plan),
        realm=realm,
        label=plan.label,
        count=plan.count,
        offline_count=plan.offline_count,
        sample=[
            TargetOut(session_id=t.session_id, offline=t.offline, username=t.username)
            for t in plan.sample
        ],
        excluded=list(plan.excluded),
        residual_risk=list(plan.residual_risk),
        expires_at=datetime.fromtimestamp(plan.made_at + PLAN_MAX_AGE_S, tz=UTC),
    )


def _job_out(job: RevocationJob) -> JobOut:
    counts = job_counts(job)
    return JobOut(
        id=job.pk,
        realm=job.realm,
        label=job.label,
        state=job.state,
        total=counts.total,
        pending=counts.pending,
        done=counts.done,
        already_gone=counts.already_gone,
        failed=counts.failed,
        listed=counts.listed,
        stopped_reason=job.stopped_reason,
    )


@router.post(
    "/realms/{realm}/plans/apply",
    auth=MANAGE_USERS,
    response={202: JobOut, 409: Problem, **ERRORS},
    summary="Apply a plan: start its job (once; again says already applied)",
)
def plan_apply(request: HttpRequest, realm: str, body: ApplyIn) -> Status:
    caller = caller_of(request)
    plan = plan_load(body.plan_id, realm=realm)
    digest = hashlib.sha256(body.plan_id.encode()).hexdigest()
    try:
        with transaction.atomic():
            marker = AppliedPlan.objects.create(digest=digest)
    except IntegrityError:
        earlier = AppliedPlan.objects.filter(digest=digest).first()
        job_text = f": job {earlier.job_id}" if earlier and earlier.job_id else ""
        raise HttpError(409, f"This plan was already applied{job_text}.") from None
    try:
        job = revocation_bulk_start(
            admin=caller.gateway(),
            plan=plan,
            own_session_id=caller.own_session_id,
            actor=caller.user,
            reason=body.reason,
            ticket=body.ticket,
            queue_unreachable=lambda: None,  # the sweeper queues it again (FAULTS.md)
        )
    except BaseException:
        marker.delete()  # nothing started: the plan may be applied again
        raise
    marker.job = job
    marker.save(update_fields=["job"])
    job.refresh_from_db()
    return Status(202, _job_out(job))


def _job_for(caller: Caller, job_id: int) -> RevocationJob:
    job = RevocationJob.objects.filter(pk=job_id).first()
    if job is None:
        raise Http404(f"No job {job_id}.")
    require_right(caller, job.realm, "view-users")
    return job


@router.get("/jobs/{job_id}", response={200: JobOut, **ERRORS})
def job_get(request: HttpRequest, job_id: int) -> JobOut:
    return _job_out(_job_for(caller_of(request), job_id))


@router.get("/jobs/{job_id}/items", response={200: list[JobItemOut], **ERRORS})
def job_items(request: HttpRequest, job_id: int, limit: int = 500, after: int = 0) -> list:
    job = _job_for(caller_of(request), job_id)
    if not 1 <= limit <= 5000:
        raise HttpError(400, "limit must be between 1 and 5000.")
    items = job.items.filter(pk__gt=after).order_by("pk")[:limit]
    return [
        JobItemOut(
            session_id=i.session_id,
            offline=i.offline,
            username=i.username,
            state=i.state,
            error=i.error,
        )
        for i in items
    ]
