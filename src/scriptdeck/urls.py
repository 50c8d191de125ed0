from django.contrib import admin
from django.urls import include, path

from scriptdeck.api.health import healthz
from scriptdeck.api.urls import api_urlpatterns, compat_urlpatterns

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path("myapp/api/", include(compat_urlpatterns)),
]
