"""Job survival: will a job's credentials last as long as the job?"""

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.core.durations import DurationError, duration_parse
from tokenadmin.http import AuthedRequest, page_or_partial, require_right

from .catalog import lifespan_values_of
from .selectors import lifespans_drift_select
from .survival import job_survival_check


class JobForm(forms.Form):
    client = forms.CharField(max_length=255)
    job = forms.CharField(max_length=40, label="Job length")
    refresh = forms.BooleanField(required=False, label="The job refreshes its token")
    offline = forms.BooleanField(required=False, label="The job holds an offline token")

    def clean_job(self) -> int:
        try:
            seconds = duration_parse(self.cleaned_data["job"])
        except DurationError as exc:
            raise forms.ValidationError(exc.message) from None
        if seconds <= 0:
            raise forms.ValidationError("A job lasts longer than 0: enter e.g. 9h.")
        return seconds


@require_GET
@require_right("view-realm")
@require_right("view-clients")  # Keycloak lists a realm's clients only with it
def job_survival_page(request: AuthedRequest, realm: str) -> HttpResponse:
    gateway = gateway_for(request)
    rep = gateway.realm_representation(realm)
    clients = sorted(gateway.clients_list(realm), key=lambda c: c.client_id.lower())
    form = JobForm(request.GET) if "client" in request.GET else JobForm(initial={"refresh": True})
    verdict = client = None
    if form.is_bound and form.is_valid():
        client = next((c for c in clients if c.client_id == form.cleaned_data["client"]), None)
        if client is None:
            form.add_error("client", "No such client in this realm.")
        else:
            verdict = job_survival_check(
                realm_rep=rep,
                client_attributes=client.attributes,
                client_id=client.client_id,
                job_s=form.cleaned_data["job"],
                refresh=form.cleaned_data["refresh"],
                offline=form.cleaned_data["offline"],
            )
    context = {
        "realm": realm,
        "tab": "survival",
        "can_save": rights_of(request.session).can(realm, "manage-realm"),
        "form": form,
        "clients": clients,
        "verdict": verdict,
        "client": client,
        "state": {"drift": lifespans_drift_select(realm=realm, current=lifespan_values_of(rep))},
    }
    return render(
        request, page_or_partial(request, "lifespans/survival.html", "survival-answer"), context
    )
