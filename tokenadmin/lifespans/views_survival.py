"""Job survival: will a job's credentials last as long as the job?"""

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.core.durations import DurationError, duration_parse
from tokenadmin.http import AuthedRequest, page_or_partial, require_right

from .selectors_clients import JobQuestion, job_survival_select


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
    form = JobForm(request.GET) if "client" in request.GET else JobForm(initial={"refresh": True})
    question = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        question = JobQuestion(
            client_id=data["client"],
            job_s=data["job"],
            refresh=data["refresh"],
            offline=data["offline"],
        )
    answer = job_survival_select(gateway=gateway_for(request), realm=realm, question=question)
    if answer.client_missing:
        form.add_error("client", "No such client in this realm.")
    context = {
        "realm": realm,
        "tab": "survival",
        "can_save": rights_of(request.session).can(realm, "manage-realm"),
        "form": form,
        "clients": answer.clients,
        "verdict": answer.verdict,
        "client": answer.client,
        "state": {"drift": answer.drift},
    }
    return render(
        request, page_or_partial(request, "lifespans/survival.html", "survival-answer"), context
    )
