"""The demo's URLconf: the product's URLs plus the demo's own pages. settings.ROOT_URLCONF
names it only when TOKENADMIN_DEMO_MAILDIR is set (by `manage.py demo`)."""

from django.urls import include, path

from tokenadmin.urls import handler403, handler404, handler500
from tokenadmin.urls import urlpatterns as product_urlpatterns

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]

urlpatterns = [path("demo/", include("tokenadmin.demo.urls")), *product_urlpatterns]
