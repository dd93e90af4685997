from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("signed-out/", views.signed_out, name="signed-out"),
    path("login-failed/", views.login_failed, name="login-failed"),
]
