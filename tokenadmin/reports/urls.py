from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.reports_page, name="index"),
    path("new/", views.report_create_page, name="create"),
    path("<int:pk>/", views.report_page, name="detail"),
    path("<int:pk>/edit/", views.report_edit_page, name="edit"),
    path("<int:pk>/send-now", views.report_send_now, name="send-now"),
    path("<int:pk>/delete", views.report_delete, name="delete"),
    path("<int:pk>/preview/", views.report_preview_page, name="preview"),
    path("<int:pk>/report.csv", views.report_csv, name="csv"),
    path("<int:pk>/preview/email.html", views.report_preview_email, name="preview-email"),
]
