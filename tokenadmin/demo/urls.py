from django.urls import path

from . import views

app_name = "demo"
urlpatterns = [
    path("mailbox/", views.mailbox_page, name="mailbox"),
    path("mailbox/<str:name>/", views.mail_page, name="mail"),
    path("mailbox/<str:name>/body.html", views.mail_html, name="mail-html"),
    path(
        "mailbox/<str:name>/attachments/<int:number>/",
        views.mail_attachment,
        name="mail-attachment",
    ),
]
