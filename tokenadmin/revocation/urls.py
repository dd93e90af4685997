from django.urls import URLPattern

app_name = "revocation"
urlpatterns: list[URLPattern] = []
