"""The result record a successful run leaves, in the older system's shape and words."""

from __future__ import annotations

import json

from django.utils import timezone

from scriptdeck import legacy

from ..models import ResultRecord, TaskExecution


def write_result_record(execution: TaskExecution) -> ResultRecord:
    result = execution.result
    description = execution.script.description if execution.script else ""
    task_id = str(execution.task_id)
    return ResultRecord.objects.create(
        execution=execution,
        scandevresult_filename=f"{execution.script_name}{legacy.RESULT_FILE_SUFFIX}{task_id[:8]}.json",
        scandevresult_time=execution.completed_at or timezone.now(),
        director=legacy.SYSTEM_DIRECTOR,
        remark=legacy.RECORD_REMARK.format(what=description or execution.script_name),
        scandevresult_content=json.dumps(result, ensure_ascii=False, indent=2),
        status=legacy.RECORD_STATUS_DONE,
        result_type=legacy.RECORD_RESULT_TYPE,
        script_name=execution.script_name,
        task_id=task_id,
        page_context=execution.page_context,
        execution_time=execution.execution_time,
        script_output=str(result.get("message", "")) if isinstance(result, dict) else "",
        error_message=None,
    )
