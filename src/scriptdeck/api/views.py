"""The native API: scripts, executions, result records."""

from __future__ import annotations

from urllib.parse import quote

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from scriptdeck.access import audit
from scriptdeck.access import permissions as access
from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import ScriptNotFound
from scriptdeck.catalog.services import sync_now, update_script
from scriptdeck.executions import services, uploads, workers
from scriptdeck.executions.models import (
    EventKind,
    ResultRecord,
    TaskExecution,
    Trigger,
    Upload,
    Worker,
)
from scriptdeck.refusals import Refusal

from .filters import ExecutionFilter
from .serializers import (
    ArtifactSerializer,
    CancelAnswerSerializer,
    ExecutionListSerializer,
    ExecutionSerializer,
    ExecutionSubmitSerializer,
    OutputPageSerializer,
    ResultRecordSerializer,
    ScriptSerializer,
    UploadSerializer,
    WorkerSerializer,
)

OUTPUT_PAGE = 1000


class ScriptViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The scripts you may see; a manager of a script may change its settings."""

    serializer_class = ScriptSerializer
    http_method_names = ["get", "patch", "post", "head", "options"]
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["is_active", "queue", "name"]

    def get_queryset(self) -> QuerySet[Script]:
        return access.scripts_for(self.request.user)

    def perform_update(self, serializer: ScriptSerializer) -> None:
        serializer.instance = update_script(
            self.request.user,
            serializer.instance,
            dict(serializer.validated_data),
            request=self.request,
        )

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "SyncCounts",
                {
                    "added": serializers.IntegerField(),
                    "updated": serializers.IntegerField(),
                    "deactivated": serializers.IntegerField(),
                },
            )
        },
    )
    @action(detail=False, methods=["post"])
    def sync(self, request: Request) -> Response:
        """Sync the catalog with the scripts folder now (staff, or manage on every script)."""
        report = sync_now(request.user, request=request)
        return Response(
            {
                "added": len(report.added),
                "updated": len(report.updated),
                "deactivated": len(report.deactivated),
            }
        )


def visible_executions(request: Request) -> QuerySet[TaskExecution]:
    queryset = TaskExecution.objects.select_related("user", "script")
    return access.executions_for(request.user, queryset)


class ExecutionPages(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 200; 50 when not given)."""

    page_size_query_param = "page_size"
    max_page_size = 200


class ExecutionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    filter_backends = [DjangoFilterBackend]
    filterset_class = ExecutionFilter
    pagination_class = ExecutionPages

    def get_queryset(self) -> QuerySet[TaskExecution]:
        return visible_executions(self.request)

    def filter_queryset(self, queryset: QuerySet[TaskExecution]) -> QuerySet[TaskExecution]:
        # A request that names no filter (a detail, a first page) gets from the filters what
        # they would give: the queryset as it is. Building the filter form costs more than
        # the rest of such a request's Python.
        names = tuple(ExecutionFilter.base_filters)
        if not any(key.startswith(names) for key in self.request.query_params):
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self) -> type:
        if self.action == "list":
            return ExecutionListSerializer
        if self.action == "create":
            return ExecutionSubmitSerializer
        return ExecutionSerializer

    @extend_schema(request=ExecutionSubmitSerializer, responses={202: ExecutionSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        submitted = ExecutionSubmitSerializer(data=request.data)
        submitted.is_valid(raise_exception=True)
        data = submitted.validated_data
        execution = services.submit(
            script=access.find_runnable(request.user, data["script"]),
            parameters=data["parameters"],
            page_context=data["page_context"],
            user=request.user,
            origin_ip=audit.client_ip(request),
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Only chunks after this sequence number."),
            OpenApiParameter("limit", int, description="At most this many chunks (≤ 1000)."),
        ],
        responses={200: OutputPageSerializer},
    )
    @action(detail=True, methods=["get"])
    def output(self, request: Request, pk: str | None = None) -> Response:
        """The output chunks after a sequence number, stdout and stderr apart, in order."""
        execution = self.get_object()
        try:
            after = int(request.query_params.get("after", 0))
            limit = min(max(int(request.query_params.get("limit", OUTPUT_PAGE)), 1), OUTPUT_PAGE)
        except ValueError:
            raise Refusal(
                "after", "after: must be a whole number", {"after": ["must be a whole number"]}
            ) from None
        chunks = list(
            execution.events.filter(
                seq__gt=after, kind__in=[EventKind.STDOUT, EventKind.STDERR]
            ).order_by("seq")[:limit]
        )
        page = {
            "chunks": chunks,
            "last_seq": chunks[-1].seq if chunks else after,
            "finished": execution.is_finished and len(chunks) < limit,
            "stdout_dropped": execution.stdout_dropped,
            "stderr_dropped": execution.stderr_dropped,
        }
        return Response(OutputPageSerializer(page).data)

    @extend_schema(
        request=None, responses={202: CancelAnswerSerializer, 409: CancelAnswerSerializer}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel: a waiting execution never runs; a running one is stopped within seconds."""
        execution = self.get_object()
        now = services.cancel(execution.pk, request.user, origin_ip=audit.client_ip(request))
        detail = (
            "cancelled before it started"
            if now == "CANCELLED"
            else "the worker is stopping it; it ends CANCELLED"
        )
        return Response({"status": now, "detail": detail}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, pk: str | None = None) -> Response:
        """Run the same script again with the same parameters (secrets included) and context."""
        execution = self.get_object()
        script = execution.script
        if script is None or not script.is_active:
            raise ScriptNotFound(f"script {execution.script_name!r} is gone")
        access.require_run(request.user, script)
        again = services.submit(
            script=script,
            parameters=execution.parameters,
            page_context=execution.page_context,
            user=request.user,
            run_name=execution.script_name,
            origin_ip=audit.client_ip(request),
            secret_parameters=execution.secret_parameters,
            trigger=Trigger.RERUN,
            trigger_ref=str(execution.pk),
        )
        return Response(ExecutionSerializer(again).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: ArtifactSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def artifacts(self, request: Request, pk: str | None = None) -> Response:
        """Files the script left in ``SCRIPT_OUTPUT_DIR``."""
        execution = self.get_object()
        data = ArtifactSerializer(
            execution.artifacts.all(), many=True, context={"request": request}
        ).data
        return Response(data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"artifacts/(?P<artifact_id>\d+)/download",
        url_name="artifact-download",
    )
    def download_artifact(
        self, request: Request, pk: str | None = None, artifact_id: str | None = None
    ) -> FileResponse:
        execution = self.get_object()
        artifact = get_object_or_404(execution.artifacts, pk=artifact_id)
        return FileResponse(
            artifact.file.open("rb"),
            as_attachment=True,
            filename=artifact.name.rsplit("/", 1)[-1],
            content_type="application/octet-stream",
        )


class UploadViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Files for ``file`` parameters: upload, then pass the id as the parameter's value."""

    serializer_class = UploadSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self) -> QuerySet[Upload]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI document's pass
            return Upload.objects.none()
        return Upload.objects.filter(user=self.request.user)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        uploads.check_declared_size(int(request.META.get("CONTENT_LENGTH") or 0))
        incoming = UploadSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        upload = uploads.store(request.user, incoming.validated_data["file"])
        return Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)


class WorkerViewSet(viewsets.ReadOnlyModelViewSet):
    """Workers that registered, newest first; ``alive`` when seen in the last 30 s."""

    serializer_class = WorkerSerializer
    queryset = Worker.objects.order_by("-last_seen_at")
    pagination_class = None

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["live_ids"] = {w.pk for w in workers.live()}
        return context


class ResultRecordViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ResultRecordSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["page_context", "script_name", "task_id"]

    def get_queryset(self) -> QuerySet[ResultRecord]:
        records = ResultRecord.objects.select_related("execution")
        if self.request.user.is_staff:
            return records
        return records.filter(
            execution__in=access.executions_for(self.request.user, TaskExecution.objects.all())
        )

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.ANY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The record's content as the JSON file the source's page offered."""
        record = self.get_object()
        response = HttpResponse(
            record.scandevresult_content, content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f"attachment; filename*=UTF-8''{quote(record.scandevresult_filename)}"
        )
        return response
