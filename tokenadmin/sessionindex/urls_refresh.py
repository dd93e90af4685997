from django.urls import URLPattern, path

from . import refresh_views

# Index refresh: "refresh now" and its progress.
urlpatterns: list[URLPattern] = [
    path("<str:realm>/index/refresh", refresh_views.refresh_now, name="refresh-now"),
    path("<str:realm>/index/progress", refresh_views.refresh_progress, name="refresh-progress"),
]
