from django.urls import URLPattern, path

from . import views, views_live

# The sessions pages (realm sessions, user, client, saved views, CSV).
urlpatterns: list[URLPattern] = [
    path("", views.sessions_index, name="index"),
    path("<str:realm>/", views.realm_sessions_page, name="realm"),
    path("<str:realm>/export.csv", views.realm_sessions_csv, name="csv"),
    path("<str:realm>/views/", views.saved_view_create_view, name="saved-view-create"),
    path(
        "<str:realm>/views/<int:view_id>/delete",
        views.saved_view_delete_view,
        name="saved-view-delete",
    ),
    path("<str:realm>/users/<str:user_id>/", views_live.user_page, name="user"),
    path("<str:realm>/clients/<str:client_uuid>/", views_live.client_page, name="client"),
]
