from django.urls import path

from . import views

app_name = "findings"

urlpatterns = [
    path("", views.index_page, name="index"),
    path("<str:realm>/", views.realm_page, name="realm"),
    path("<str:realm>/run/", views.realm_run, name="run"),
    path("<str:realm>/thresholds/", views.realm_thresholds, name="thresholds"),
    path("<str:realm>/<int:finding_id>/mute/", views.finding_mute_view, name="mute"),
]
