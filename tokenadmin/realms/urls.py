from django.urls import path

from . import views

app_name = "realms"
urlpatterns = [
    path("", views.realms_page, name="list"),
]
