"""The native API: scripts, executions, result records."""

from __future__ import annotations

from urllib.parse import quote

from django.db.models import QuerySet
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from scriptdeck.catalog.models import Script
from scriptdeck.catalog.paths import PathRefused
from scriptdeck.catalog.registry import ScriptNotFound
from scriptdeck.executions import services
from scriptdeck.executions.models import ResultRecord, TaskExecution

from .errors import refusal
from .filters import ExecutionFilter
from .serializers import (
    ExecutionListSerializer,
    ExecutionSerializer,
    ExecutionSubmitSerializer,
    ResultRecordSerializer,
    ScriptSerializer,
)


class StaffCanEdit(permissions.BasePermission):
    """Everyone signed in reads; only staff change a script's settings."""

    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return bool(request.user and request.user.is_staff)


class ScriptViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Script.objects.all()
    serializer_class = ScriptSerializer
    permission_classes = [StaffCanEdit]
    http_method_names = ["get", "patch", "head", "options"]
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["is_active", "queue", "name"]


def visible_executions(request: Request) -> QuerySet[TaskExecution]:
    queryset = TaskExecution.objects.select_related("user", "script")
    if request.user.is_staff:
        return queryset
    return queryset.filter(user=request.user)


def find_script(reference: str) -> Script:
    reference = str(reference).strip()
    query = Script.objects.filter(is_active=True)
    script = query.filter(pk=int(reference)).first() if reference.isdigit() else None
    script = script or query.filter(name=reference).first()
    if script is None:
        raise ScriptNotFound(f"no active script with id or name {reference!r}")
    return script


class ExecutionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    filter_backends = [DjangoFilterBackend]
    filterset_class = ExecutionFilter

    def get_queryset(self) -> QuerySet[TaskExecution]:
        return visible_executions(self.request)

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
        try:
            execution = services.submit(
                script=find_script(data["script"]),
                parameters=data["parameters"],
                page_context=data["page_context"],
                user=request.user,
            )
        except (services.SubmitError, PathRefused, ScriptNotFound) as exc:
            return refusal(exc)
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)


class ResultRecordViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ResultRecordSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["page_context", "script_name", "task_id"]

    def get_queryset(self) -> QuerySet[ResultRecord]:
        return ResultRecord.objects.select_related("execution")

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
