from django.urls import URLPattern

app_name = "lifespans"
urlpatterns: list[URLPattern] = []
