from django.urls import path

from . import views

app_name = "policies"

urlpatterns = [
    path("", views.index_page, name="index"),
    path("<str:realm>/", views.realm_page, name="realm"),
    path("<str:realm>/new/", views.create_page, name="create"),
    path("<str:realm>/<int:policy_id>/", views.detail_page, name="detail"),
    path("<str:realm>/<int:policy_id>/edit/", views.edit_page, name="edit"),
    path("<str:realm>/<int:policy_id>/run/", views.run_now, name="run-now"),
    path("<str:realm>/<int:policy_id>/enforce/", views.enforce, name="enforce"),
    path("<str:realm>/<int:policy_id>/dry-run/", views.dry_run, name="dry-run"),
    path("<str:realm>/<int:policy_id>/runs/<int:run_id>/", views.run_page, name="run"),
]
