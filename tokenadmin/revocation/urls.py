from django.urls import path

from tokenadmin.core import converters  # noqa: F401 - registers <kcid:...>

from . import views, views_actions

app_name = "revocation"
urlpatterns = [
    path("", views.index_page, name="index"),
    path("jobs/<int:job_id>/", views.job_page, name="job"),
    path("jobs/<int:job_id>/progress/", views.job_progress, name="job-progress"),
    path("jobs/<int:job_id>/items/", views.job_items, name="job-items"),
    path("jobs/<int:job_id>/retry/", views.job_retry, name="job-retry"),
    path("<str:realm>/bulk/", views.bulk_preview, name="bulk-preview"),
    path("<str:realm>/bulk/start/", views.bulk_start, name="bulk-start"),
    path("<str:realm>/sign-out/", views.realm_sign_out, name="realm-sign-out"),
    path("<str:realm>/not-before/", views_actions.realm_not_before, name="realm-not-before"),
    path("<str:realm>/push/", views_actions.realm_push, name="realm-push"),
    path("<str:realm>/users/", views_actions.user_find, name="user-find"),
    path("<str:realm>/users/<str:user_id>/", views_actions.user_page, name="user"),
    path(
        "<str:realm>/users/<str:user_id>/sign-out/",
        views_actions.sign_out_user,
        name="sign-out-user",
    ),
    path(
        "<str:realm>/users/<str:user_id>/sessions/<str:session_id>/sign-out/",
        views_actions.revoke_session,
        name="revoke-session",
    ),
    path(
        "<str:realm>/users/<str:user_id>/offline-sessions/<str:session_id>/revoke/",
        views_actions.revoke_offline_session,
        name="revoke-offline-session",
    ),
    path(
        "<str:realm>/users/<str:user_id>/consents/<kcid:client_id>/revoke/",
        views_actions.revoke_consent,
        name="revoke-consent",
    ),
    path("<str:realm>/clients/", views_actions.client_find, name="client-find"),
    path("<str:realm>/clients/<kcid:client_id>/", views_actions.client_page, name="client"),
    path(
        "<str:realm>/clients/<kcid:client_id>/not-before/",
        views_actions.client_not_before,
        name="client-not-before",
    ),
    path(
        "<str:realm>/clients/<kcid:client_id>/push/", views_actions.client_push, name="client-push"
    ),
]
