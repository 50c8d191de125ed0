"""The source document's two routes, kept so its page and clients work unchanged."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from scriptdeck.access import audit
from scriptdeck.access import permissions as access
from scriptdeck.catalog.paths import NoSuchScriptFile, PathRefused, confine
from scriptdeck.catalog.registry import ScriptNotFound, resolve_request
from scriptdeck.executions import services
from scriptdeck.executions.models import Status, TaskExecution
from scriptdeck.ids import is_id
from scriptdeck.refusals import Refusal

from .errors import refusal
from .views import visible_executions


class CompatExecuteSerializer(serializers.Serializer):
    script_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    script_name = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    script_path = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    parameters = serializers.DictField(required=False, default=dict)
    page_context = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default="", max_length=255
    )


class CompatAcceptedSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    execution_id = serializers.IntegerField()
    status = serializers.CharField()


class CompatResultSerializer(serializers.Serializer):
    ready = serializers.BooleanField()
    success = serializers.BooleanField()
    status = serializers.CharField()
    result = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    task_id = serializers.CharField()
    execution_id = serializers.IntegerField()
    execution_time = serializers.FloatField(allow_null=True)
    memory_usage = serializers.FloatField(allow_null=True)


@extend_schema(request=CompatExecuteSerializer, responses={202: CompatAcceptedSerializer})
@api_view(["POST"])
def execute_script(request: Request) -> Response:
    """Run the script named by ``script_id``, ``script_name`` + ``script_path``, or a name."""
    body = CompatExecuteSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    staff = bool(request.user.is_staff and request.user.is_active)
    try:
        try:
            # Only staff register a file the catalog has not synced yet; anyone else is told
            # it does not exist, so naming files is no way to add scripts or to probe for them.
            resolved = resolve_request(
                data.get("script_id"),
                data.get("script_name"),
                data.get("script_path"),
                may_register=staff,
            )
        except (PathRefused, ScriptNotFound):
            # Staff see every script: the precise reason helps them. A name that leaves the
            # folder (``../x``) is refused for what it is, whatever lies there.
            if staff or (not data.get("script_path") and _leaves_folder(data.get("script_name"))):
                raise
            raise _unseen(data) from None
        if not access.scripts_for(request.user).filter(pk=resolved.script.pk).exists():
            raise _unseen(data)
        access.require_run(request.user, resolved.script)
        execution = services.submit(
            script=resolved.script,
            parameters=data.get("parameters") or {},
            page_context=data.get("page_context") or "",
            user=request.user,
            run_name=resolved.run_name,
            path=resolved.path,
            origin_ip=audit.client_ip(request),
        )
    except (services.SubmitError, PathRefused, ScriptNotFound) as exc:
        return refusal(exc, path_field="script_path")
    return Response(
        {"task_id": str(execution.task_id), "execution_id": execution.pk, "status": Status.PENDING},
        status=status.HTTP_202_ACCEPTED,
    )


def _leaves_folder(name: str | None) -> bool:
    """Whether a script name, as the file it names, points outside the scripts folder."""
    if not name:
        return False
    try:
        confine(name if name.endswith(".py") else f"{name}.py")
    except NoSuchScriptFile:
        return False
    except PathRefused:
        return True
    return False


def _unseen(data: dict) -> Refusal:
    """The one answer for a script the caller cannot see, in the form they named it: missing,
    deactivated, a file the catalog does not list, outside the folder or not theirs to see
    all read the same, so no answer tells which."""
    given = data.get("script_id")
    if given not in (None, ""):
        return ScriptNotFound(f"no active script with id {given}")
    if data.get("script_path"):
        return PathRefused(f"no such script: {data['script_path']}")
    return ScriptNotFound(f"no script named {data.get('script_name')!r}")


@extend_schema(
    parameters=[
        OpenApiParameter("task_id", str, required=False),
        OpenApiParameter("execution_id", int, required=False),
    ],
    responses={200: CompatResultSerializer},
)
@api_view(["GET"])
def script_task_result(request: Request) -> Response:
    """The state of one execution in the source's shape; ``ready`` once it has ended."""
    task_id = request.query_params.get("task_id") or ""
    execution_id = request.query_params.get("execution_id") or ""
    executions = visible_executions(request)
    execution: TaskExecution | None = None
    if execution_id:
        if not is_id(execution_id):
            return _bad("execution_id", "must be a whole number")
        execution = executions.filter(pk=int(execution_id)).first()
    elif task_id:
        try:
            execution = executions.filter(task_id=uuid.UUID(task_id)).first()
        except ValueError:
            return _bad("task_id", "must be a UUID")
    else:
        return _bad("task_id", "give task_id or execution_id")
    if execution is None or (task_id and execution_id and str(execution.task_id) != task_id):
        return Response({"error": "no such execution"}, status=status.HTTP_404_NOT_FOUND)
    # A failed attempt that is being retried is not the answer yet: follow to the last one.
    while execution.retried_by_id is not None:
        execution = TaskExecution.objects.get(pk=execution.retried_by_id)
    ready = execution.is_finished
    failed = execution.status in (Status.FAILURE, Status.CANCELLED)
    return Response(
        {
            "ready": ready,
            "success": execution.status == Status.SUCCESS,
            "status": execution.status,
            "result": execution.result if ready else None,
            "error": (execution.error_message or execution.failure_reason) if failed else None,
            "task_id": str(execution.task_id),
            "execution_id": execution.pk,
            "execution_time": execution.execution_time,
            "memory_usage": execution.memory_usage,
        }
    )


def _bad(field: str, message: str) -> Response:
    return refusal(Refusal(field, f"{field}: {message}", {field: [message]}))
