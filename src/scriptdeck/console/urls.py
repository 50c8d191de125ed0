from django.urls import re_path

from . import views

# Everything that is not the API, the admin, the source's routes, static files or health:
# the console's own router decides (and shows its "not found" page).
NOT_CONSOLE = r"(?:api|admin|myapp|static|media|healthz)(?:/|$)"
urlpatterns = [re_path(rf"^(?!{NOT_CONSOLE}).*$", views.index, name="console")]
