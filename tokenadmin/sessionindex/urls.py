from .urls_pages import urlpatterns as page_urlpatterns
from .urls_refresh import urlpatterns as refresh_urlpatterns

app_name = "sessions"
urlpatterns = [*refresh_urlpatterns, *page_urlpatterns]
