from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from . import accounts, compat, events, schedules, stats, views, webhook_calls, webhooks
from . import schema as _schema  # noqa: F401  (token authentication in the OpenAPI document)

router = DefaultRouter()
router.register("scripts", views.ScriptViewSet, basename="script")
router.register("executions", views.ExecutionViewSet, basename="execution")
router.register("results", views.ResultRecordViewSet, basename="result")
router.register("uploads", views.UploadViewSet, basename="upload")
router.register("workers", views.WorkerViewSet, basename="worker")
router.register("tokens", accounts.ApiTokenViewSet, basename="token")
router.register("audit", accounts.AuditEventViewSet, basename="audit")
router.register("schedules", schedules.ScheduleViewSet, basename="schedule")
router.register("webhooks", webhooks.WebhookViewSet, basename="webhook")

api_urlpatterns = [
    path("auth/token/", accounts.ObtainTokenView.as_view(), name="auth-token"),
    path("auth/login/", accounts.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", accounts.LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", accounts.MeView.as_view(), name="auth-me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("stats/overview/", stats.OverviewView.as_view(), name="stats-overview"),
    path("executions/<int:pk>/events/", events.execution_events, name="execution-events"),
    path("executions/<int:pk>/wait/", events.execution_wait, name="execution-wait"),
    # The call's path stays /api/hooks/: every webhook URL handed out carries it.
    path("hooks/<str:token>/", webhook_calls.call, name="webhook-call"),
    path("", include(router.urls)),
]

compat_urlpatterns = [
    path("execute-script/", compat.execute_script, name="compat-execute-script"),
    path("script-task-result/", compat.script_task_result, name="compat-script-task-result"),
]
