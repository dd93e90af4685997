from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.index_page, name="index"),
    path("realm/<str:realm>/", views.realm_page, name="realm"),
    path("transports/new/", views.transport_create_view, name="transport-create"),
    path("transports/<int:pk>/", views.transport_change_view, name="transport-change"),
    path("transports/<int:pk>/delete/", views.transport_delete_view, name="transport-delete"),
    path("transports/<int:pk>/test/", views.transport_test_view, name="transport-test"),
    path("transports/<int:pk>/resume/", views.transport_resume_view, name="transport-resume"),
    path("rules/new/", views.rule_create_view, name="rule-create"),
    path("rules/<int:pk>/", views.rule_change_view, name="rule-change"),
    path("rules/<int:pk>/delete/", views.rule_delete_view, name="rule-delete"),
]
