from django.urls import path

from . import views, views_clients, views_survival

app_name = "lifespans"
urlpatterns = [
    path("", views.lifespans_index, name="index"),
    path("<str:realm>/", views.realm_lifespans_page, name="realm"),
    path("<str:realm>/save/", views.realm_lifespans_save, name="save"),
    path(
        "<str:realm>/rollback/<int:snapshot_id>/",
        views.realm_lifespans_rollback,
        name="rollback",
    ),
    path("<str:realm>/clients/", views_clients.client_lifespans_page, name="clients"),
    path(
        "<str:realm>/clients/<str:client_uuid>/",
        views_clients.client_lifespans_edit,
        name="client-edit",
    ),
    path("<str:realm>/job-survival/", views_survival.job_survival_page, name="job-survival"),
]
