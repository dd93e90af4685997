from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_not_required
def signed_out(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signed_out.html")


@login_not_required
def login_failed(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/login_failed.html", status=401)
