from django.urls import path

from . import views

app_name = "ledger"
urlpatterns = [
    path("", views.ledger_page, name="index"),
    path("export.csv", views.ledger_csv, name="csv"),
]
