from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from . import compat, events, views

router = DefaultRouter()
router.register("scripts", views.ScriptViewSet, basename="script")
router.register("executions", views.ExecutionViewSet, basename="execution")
router.register("results", views.ResultRecordViewSet, basename="result")
router.register("uploads", views.UploadViewSet, basename="upload")
router.register("workers", views.WorkerViewSet, basename="worker")

api_urlpatterns = [
    path("auth/token/", obtain_auth_token, name="auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("executions/<int:pk>/events/", events.execution_events, name="execution-events"),
    path("", include(router.urls)),
]

compat_urlpatterns = [
    path("execute-script/", compat.execute_script, name="compat-execute-script"),
    path("script-task-result/", compat.script_task_result, name="compat-script-task-result"),
]
