from django.urls import URLPattern

# Index refresh: "refresh now" and its progress.
urlpatterns: list[URLPattern] = []
