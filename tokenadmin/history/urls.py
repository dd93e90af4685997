from django.urls import URLPattern, path

from . import views

app_name = "history"
urlpatterns: list[URLPattern] = [
    path("<str:realm>/", views.realm_history_page, name="realm"),
]
