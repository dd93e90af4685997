from django.urls import URLPattern

# The sessions pages (realm sessions, user, client, saved views, CSV).
urlpatterns: list[URLPattern] = []
