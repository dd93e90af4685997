from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.http import AuthedRequest, forbidden, require_right

from .forms import MuteForm, ThresholdsForm
from .models import Finding
from .selectors import events_setup_select, findings_page_select, realms_findings_select
from .services import FindingError, finding_mute, findings_run, realm_thresholds_get
from .tasks import findings_announce_enqueue


@require_GET
def index_page(request: AuthedRequest) -> HttpResponse:
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, "Your Keycloak account holds no admin role on any realm.")
    rows = [r for r in realms_findings_select() if rights.can(r.realm, "view-users")]
    return render(request, "findings/index.html", {"rows": rows})


def _realm_page(
    request: AuthedRequest,
    realm: str,
    *,
    thresholds_form: ThresholdsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "realm": realm,
        "findings": findings_page_select(realm=realm),
        "events": events_setup_select(gateway=gateway_for(request), realm=realm),
        "thresholds_form": thresholds_form
        or ThresholdsForm(instance=realm_thresholds_get(realm=realm)),
        "mute_form": MuteForm(),
        "can_manage": rights_of(request.session).can(realm, "manage-users"),
    }
    return render(request, "findings/realm.html", context, status=status)


@never_cache
@require_GET
@require_right("view-users")
def realm_page(request: AuthedRequest, realm: str) -> HttpResponse:
    return _realm_page(request, realm)


def _run_and_announce(request: AuthedRequest, realm: str) -> dict[str, int]:
    """Run the checks with the admin's own rights, then have a worker tell alerts and
    policies, as after a refresh."""
    counts = findings_run(realm=realm, gateway=gateway_for(request))
    if not findings_announce_enqueue(realm=realm):
        messages.warning(
            request,
            "The task queue is unreachable: alert rules and policies will see these findings "
            "after the next index refresh.",
        )
    return counts


@require_POST
@require_right("manage-users")
def realm_run(request: AuthedRequest, realm: str) -> HttpResponse:
    counts = _run_and_announce(request, realm)
    messages.success(
        request,
        f"Checks ran over the index: {counts['opened']} new, {counts['kept']} still open, "
        f"{counts['closed']} closed.",
    )
    return redirect("findings:realm", realm=realm)


@require_http_methods(["POST"])
@require_right("manage-users")
def realm_thresholds(request: AuthedRequest, realm: str) -> HttpResponse:
    form = ThresholdsForm(request.POST, instance=realm_thresholds_get(realm=realm))
    if not form.is_valid():
        return _realm_page(request, realm, thresholds_form=form, status=400)
    form.instance.realm = realm
    form.save()
    _run_and_announce(request, realm)
    messages.success(request, "Thresholds saved; the checks ran again with them.")
    return redirect("findings:realm", realm=realm)


@require_POST
@require_right("manage-users")
def finding_mute_view(request: AuthedRequest, realm: str, finding_id: int) -> HttpResponse:
    finding = get_object_or_404(Finding, pk=finding_id, realm=realm, closed_at__isnull=True)
    form = MuteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why this finding is muted.")
        return redirect("findings:realm", realm=realm)
    try:
        finding_mute(finding=finding, actor=request.user, reason=form.cleaned_data["reason"])
    except FindingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Finding muted; the ledger keeps the reason.")
    return redirect("findings:realm", realm=realm)
