from django.contrib import admin
from django.urls import include, path

from scriptdeck import legacy
from scriptdeck.access.signin import throttled_admin_login
from scriptdeck.api.health import healthz
from scriptdeck.api.urls import api_urlpatterns, compat_urlpatterns

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/login/", throttled_admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path(legacy.COMPAT_URL_PREFIX, include(compat_urlpatterns)),
    # The console last: every other path is one of its pages (index.html, never cached).
    path("", include("scriptdeck.console.urls")),
]
