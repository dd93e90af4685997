"""The revocations index, bulk previews, realm-wide sign-out, and job progress pages."""

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import SID, rights_of
from tokenadmin.core.queue import task_enqueue
from tokenadmin.http import AuthedRequest, forbidden, require_right
from tokenadmin.keycloak import Gateway, GatewayError
from tokenadmin.sessionindex.selectors import saved_views_select

from . import services
from .bulk import (
    Kind,
    Plan,
    Recipe,
    plan_load,
    plan_sign,
    revocation_job_create,
    revocation_plan_build,
)
from .forms import BulkStartForm, RealmSignOutForm, RecipeForm
from .jobs import job_counts, revocation_job_retry_failed, revocation_job_run
from .models import RevocationItem, RevocationJob
from .outcomes import RevocationRefused
from .selectors import JOB_RIGHT, realm_actions_select, revocation_jobs_select
from .targets import revocation_job_targets_build
from .tasks import revocation_job_run_task
from .views_actions import outcome_response, refused_response

logger = logging.getLogger(__name__)

# Jobs this small run in the request, as the admin (Keycloak's admin events then name them).
INLINE_LIMIT = 25
NO_RIGHTS = "Your Keycloak roles include no admin right on any realm."
QUEUE_UNREACHABLE = (
    "The job is recorded, but the task queue is unreachable right now: it will start by "
    "itself once the queue is back. Nothing has been revoked yet."
)
ITEMS_PER_PAGE = 50


@never_cache
@require_GET
def index_page(request: AuthedRequest) -> HttpResponse:
    """Recent jobs, and the realm-wide actions for each realm the admin may act on."""
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, NO_RIGHTS)
    realms = realm_actions_select(admin=gateway_for(request), rights=rights)
    jobs = revocation_jobs_select(rights=rights)
    # ?realm=<name> (the realms page's "Revoke…"): that realm's choices and jobs only.
    only = request.GET.get("realm", "")
    if only and any(r.name == only for r in realms):
        realms = [r for r in realms if r.name == only]
        jobs = jobs.filter(realm=only)
    else:
        only = ""
    jobs = jobs[:20]
    return render(
        request,
        "revocation/index.html",
        {
            "jobs": [(job, job_counts(job)) for job in jobs],
            "realms": realms,
            "only_realm": only,
            "can_revoke": any(r.can["manage_users"] or r.can["manage_realm"] for r in realms),
        },
    )


def _plan(request: AuthedRequest, realm: str, recipe: Recipe) -> Plan:
    if recipe.kind == Kind.GROUP and recipe.group_id:
        recipe = _group_resolved(gateway_for(request), realm, recipe)
    if recipe.kind == Kind.FILTER and recipe.saved_view_id:
        visible = saved_views_select(realm=realm, user=request.user)
        view = visible.filter(pk=recipe.saved_view_id).first()
        if view is None:
            raise Http404("No such saved view")
        recipe = Recipe.from_dict({**recipe.as_dict(), "saved_view_name": view.name})
    return revocation_plan_build(
        admin=gateway_for(request),
        realm=realm,
        recipe=recipe,
        own_session_id=request.session.get(SID, ""),
    )


def _group_resolved(admin: Gateway, realm: str, recipe: Recipe) -> Recipe:
    """A group named by id or by name/path; the page shows its name."""
    wanted = recipe.group_id
    for group in admin.groups_search(realm, wanted.strip("/").split("/")[-1]):
        if wanted in (group.id, group.name, group.path):
            return Recipe.from_dict(
                {**recipe.as_dict(), "group_id": group.id, "group_name": group.path or group.name}
            )
    raise Http404(f"No group {wanted!r} in {realm}")


@never_cache
@require_http_methods(["GET", "POST"])
@require_right("manage-users")
def bulk_preview(request: AuthedRequest, realm: str) -> HttpResponse:
    """What a recipe or a selection would revoke: count, sample, exclusions, residual risk.

    GET carries a recipe (`?kind=client&client=mlflow`); POST carries ticked sessions from the
    sessions browser (`session` values `<id>` or `<id>:offline`, `kind=selection`).
    """
    params = request.POST if request.method == "POST" else request.GET
    form = RecipeForm(params)
    if not form.is_valid():
        return render(request, "revocation/preview.html", {"realm": realm, "recipe_form": form})
    recipe = form.recipe(query=params.dict(), sessions=params.getlist("session"))
    plan = _plan(request, realm, recipe)
    start_form = BulkStartForm(initial={"plan": plan_sign(plan)}, realm=realm, plan=plan)
    return _preview(request, realm, plan, start_form)


def _preview(
    request: AuthedRequest, realm: str, plan: Plan, form: BulkStartForm, status: int = 200
) -> HttpResponse:
    context = {"realm": realm, "plan": plan, "form": form, "inline_limit": INLINE_LIMIT}
    return render(request, "revocation/preview.html", context, status=status)


def _enqueue(request: AuthedRequest, job: RevocationJob) -> None:
    """Queue the job; with the task queue unreachable it stays recorded, and the sweeper queues
    it again once the queue is back (docs/FAULTS.md)."""
    if not task_enqueue(revocation_job_run_task, job.pk):
        messages.warning(request, QUEUE_UNREACHABLE)


@never_cache
@require_http_methods(["POST"])
@require_right("manage-users")
def bulk_start(request: AuthedRequest, realm: str) -> HttpResponse:
    """Start what the preview showed: its signed plan, a reason, for a realm its name typed.

    A small job (by the preview's count) is listed and run here, as the admin; the request
    lists at most INLINE_LIMIT + 1 sessions before leaving a bigger one to a worker."""
    try:
        plan = plan_load(request.POST.get("plan", ""), realm=realm)
    except RevocationRefused as refused:
        return refused_response(request, refused)
    form = BulkStartForm(request.POST, realm=realm, plan=plan)
    if not form.is_valid():
        return _preview(request, realm, plan, form)
    admin = gateway_for(request)
    try:
        job = revocation_job_create(
            plan=plan,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            ticket=form.cleaned_data["ticket"],
            spared_session_ids=(request.session.get(SID, ""),),
        )
    except RevocationRefused as refused:
        return refused_response(request, refused)
    if _listed_here(job, admin, previewed=plan.count):
        revocation_job_run(job_id=job.pk, gateway_factory=lambda: admin, workers=1)
    else:
        transaction.on_commit(lambda: _enqueue(request, job))
    url = reverse("revocation:job", args=[job.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _listed_here(job: RevocationJob, admin: Gateway, *, previewed: int | None) -> bool:
    """True if the job is small enough to run in this request and is now listed; a bigger one
    (or one Keycloak would not list now) is left to a worker, which lists it again."""
    if previewed is not None and previewed > INLINE_LIMIT:
        return False
    try:
        listed = revocation_job_targets_build(job=job, admin=admin, stop_after=INLINE_LIMIT)
    except GatewayError:
        logger.warning("job %s: could not list its sessions here; a worker will", job.pk)
        return False
    return listed and job.total <= INLINE_LIMIT


@require_http_methods(["GET", "POST"])
@require_right("manage-users")
def realm_sign_out(request: AuthedRequest, realm: str) -> HttpResponse:
    """Everyone in a realm. In the admin's own login realm this becomes a job that spares them."""
    if services.is_login_realm(realm):
        return redirect(f"{reverse('revocation:bulk-preview', args=[realm])}?kind={Kind.REALM}")
    form = RealmSignOutForm(request.POST or None, realm=realm)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.realm_sign_out(
                admin=gateway_for(request),
                realm=realm,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                ticket=form.cleaned_data["ticket"],
            )
        except RevocationRefused as refused:
            return refused_response(request, refused)
        return outcome_response(request, outcome)
    if request.method == "POST" and request.htmx:
        errors = " ".join(e for field_errors in form.errors.values() for e in field_errors)
        return render(request, "revocation/result.html#refused", {"refused": errors})
    try:
        stats = gateway_for(request).client_session_stats(realm)
    except GatewayError:
        stats = None
    return render(
        request, "revocation/realm_sign_out.html", {"realm": realm, "form": form, "stats": stats}
    )


def _job_for(request: AuthedRequest, job_id: int) -> RevocationJob:
    """The job, if the admin may view the users of its realm; else 404, as if there were none."""
    rights = rights_of(request.session)
    if not rights.any_right():
        raise PermissionDenied(NO_RIGHTS)
    job = get_object_or_404(RevocationJob, pk=job_id)
    if not rights.can(job.realm, JOB_RIGHT):
        raise Http404("No such job")
    return job


@never_cache
@require_GET
def job_page(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = _job_for(request, job_id)
    return render(
        request,
        "revocation/job.html",
        {"job": job, "counts": job_counts(job), "items": _items_page(request, job)},
    )


@never_cache
@require_GET
def job_progress(request: AuthedRequest, job_id: int) -> HttpResponse:
    """The progress partial, polled every second; 286 (stop polling) once the job is done."""
    job = _job_for(request, job_id)
    if not request.htmx:  # opened directly: the job's page, not the bare progress bar
        return redirect("revocation:job", job_id=job.pk)
    context = {"job": job, "counts": job_counts(job)}
    if not job.is_done:
        return render(request, "revocation/job.html#job-progress", context)
    response = render(request, "revocation/job.html#job-progress", context, status=286)
    return trigger_client_event(response, "revocation-job-finished")


@require_http_methods(["POST"])
def job_retry(request: AuthedRequest, job_id: int) -> HttpResponse:
    """Try a finished job's failed sessions again (as a job: they may be many)."""
    job = _job_for(request, job_id)
    if not rights_of(request.session).can(job.realm, "manage-users"):
        return forbidden(
            request, f"Your Keycloak roles do not include manage-users on {job.realm}."
        )
    reopened = revocation_job_retry_failed(job=job)
    if reopened and reopened <= INLINE_LIMIT:
        admin = gateway_for(request)
        revocation_job_run(job_id=job.pk, gateway_factory=lambda: admin, workers=1)
    elif reopened:
        transaction.on_commit(lambda: _enqueue(request, job))
    url = reverse("revocation:job", args=[job.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _items_page(request: AuthedRequest, job: RevocationJob):
    state = request.GET.get("state", "")
    items = job.items.all()
    if state in RevocationItem.State.values:
        items = items.filter(state=state)
    return Paginator(items.order_by("pk"), ITEMS_PER_PAGE).get_page(request.GET.get("page"))


@never_cache
@require_GET
def job_items(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = _job_for(request, job_id)
    if not request.htmx:  # opened directly: the job's page with the same list (state, page)
        query = request.GET.urlencode()
        return redirect(reverse("revocation:job", args=[job.pk]) + (f"?{query}" if query else ""))
    return render(
        request,
        "revocation/job.html#job-items",
        {"job": job, "items": _items_page(request, job), "state": request.GET.get("state", "")},
    )
