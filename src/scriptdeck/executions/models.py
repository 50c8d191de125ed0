"""What was run, by whom, how it went, and what it returned."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from scriptdeck import legacy


class Status(models.TextChoices):
    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELLED = "CANCELLED"


TERMINAL_STATUSES = (Status.SUCCESS, Status.FAILURE, Status.CANCELLED)


class Trigger(models.TextChoices):
    MANUAL = "manual", "started by a person (console, API, compat route)"
    RERUN = "rerun", "a re-run of an earlier execution"
    SCHEDULE = "schedule", "started by a schedule"
    WEBHOOK = "webhook", "started by a webhook"


class FailureReason(models.TextChoices):
    EXIT_CODE = "exit_code", "exited with a non-zero code"
    SIGNAL = "signal", "killed by a signal"
    TIMEOUT = "timeout", "time limit exceeded"
    SCRIPT_ERROR = "script_error", "the script reported an error"
    RESULT_INVALID = "result_invalid", "the result file was not JSON"
    SPAWN_FAILED = "spawn_failed", "could not be started"
    UNSUPPORTED_TYPE = "unsupported_type", "not a runnable file type"
    SCRIPT_MISSING = "script_missing", "the script file is gone"
    DEPENDENCIES_FAILED = "dependencies_failed", "its dependencies could not be installed"
    WORKER_SHUTDOWN = "worker_shutdown", "the worker stopped during the run"
    WORKER_LOST = "worker_lost", "the worker stopped sending heartbeats"
    INTERNAL_ERROR = "internal_error", "an error in scriptdeck itself"
    CANCELLED = "cancelled", "cancelled"
    MEMORY_LIMIT = "memory_limit", "used more than its memory limit"
    PROCESS_LIMIT = "process_limit", "started more processes than its limit"
    CPU_LIMIT = "cpu_limit", "used more than its CPU time limit"
    FILE_SIZE_LIMIT = "file_size_limit", "wrote a file larger than its limit"
    OPEN_FILES_LIMIT = "open_files_limit", "opened more files than its limit"


class TaskExecution(models.Model):
    task_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No single-column index on script, user or status: the composite indexes below start
    # with them and serve the same lookups. Every index is written again by each of a run's
    # three writes (its status changes, so no update is HOT).
    script = models.ForeignKey(
        "catalog.Script",
        on_delete=models.SET_NULL,
        null=True,
        related_name="executions",
        db_index=False,
    )
    script_name = models.CharField(max_length=255, help_text="The name the script ran under.")
    script_path = models.CharField(max_length=1024, help_text="Relative to the scripts folder.")
    script_sha256 = models.CharField(max_length=64, blank=True)
    queue = models.CharField(max_length=100, default="default")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    page_context = models.CharField(max_length=255, blank=True, default="")
    # What the script receives, secret values masked; the secrets themselves are apart,
    # encrypted, and only the worker reads them.
    parameters = models.JSONField(default=dict, blank=True)
    secret_parameters = models.TextField(blank=True, default="", editable=False)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(
        max_length=32, choices=FailureReason.choices, blank=True, default=""
    )
    error_message = models.TextField(blank=True, default="")
    # How the run went, beside its status: how it started (cold, warm, or cold after the
    # warm server failed), which signals a cancel sent, artifacts left out…
    details = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    # The schedule's or the webhook's id when one started it.
    trigger_ref = models.CharField(max_length=64, blank=True, default="")
    attempt = models.PositiveIntegerField(default=1)
    retry_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retries",
        help_text="The first attempt of this run.",
    )
    retried_by = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retry_for",
        help_text="The attempt that followed this one.",
    )
    dispatch_after = models.DateTimeField(
        null=True, blank=True, help_text="A retry waits for its back-off until then."
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker_host = models.CharField(max_length=255, blank=True, default="")
    worker_pid = models.IntegerField(null=True, blank=True)
    pid = models.IntegerField(null=True, blank=True, help_text="The script's process id.")

    execution_time = models.FloatField(null=True, blank=True, help_text="Wall time, seconds.")
    memory_usage = models.FloatField(null=True, blank=True, help_text="Peak RSS of the tree, MB.")
    peak_rss_bytes = models.BigIntegerField(null=True, blank=True)
    cpu_user = models.FloatField(null=True, blank=True, help_text="Seconds.")
    cpu_system = models.FloatField(null=True, blank=True, help_text="Seconds.")
    exit_code = models.IntegerField(null=True, blank=True)
    signal = models.IntegerField(null=True, blank=True)

    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cancelled_executions",
    )
    # [[seq, seconds since start, rss bytes, cpu %, processes, read bytes, write bytes], …]
    timeline = models.JSONField(default=list, blank=True)

    result = models.JSONField(null=True, blank=True)
    stdout = models.TextField(blank=True, default="")
    stderr = models.TextField(blank=True, default="")
    stdout_bytes = models.BigIntegerField(default=0)
    stderr_bytes = models.BigIntegerField(default=0)
    stdout_dropped = models.BigIntegerField(default=0)
    stderr_dropped = models.BigIntegerField(default=0)
    output_purged_at = models.DateTimeField(
        null=True, blank=True, help_text="Output, timeline and artifacts removed by retention."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["script", "-created_at"]),
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["page_context", "-created_at"]),
            models.Index(fields=["status", "dispatched_at"]),
            # Exact lookups only (a plain index: no LIKE twin, as db_index makes on PostgreSQL).
            models.Index(fields=["trigger_ref"], name="execution_trigger_ref_idx"),
            # The overview (api/stats.py): runs per script, status and day are index-only
            # range counts here…
            models.Index(
                fields=["script", "status", "created_at"],
                include=["execution_time", "user"],
                name="execution_overview_idx",
            ),
            # …and p50 / p95 walks along each script's durations, in order, here
            # (created_at a key column: the btree itself skips the runs out of the window).
            models.Index(
                fields=["script", "execution_time", "created_at"],
                include=["user"],
                condition=models.Q(
                    status__in=[Status.SUCCESS, Status.FAILURE], execution_time__isnull=False
                ),
                name="execution_duration_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.script_name} #{self.pk} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


class EventKind(models.TextChoices):
    STDOUT = "stdout"
    STDERR = "stderr"
    SAMPLE = "sample"


class ExecutionEvent(models.Model):
    """Output chunks and resource samples of a run, in the order the worker saw them.

    Only the worker running the execution writes them, so ``seq`` is gap-free as
    written; bounded storage later deletes the middle of a long output.
    """

    # Indexed by the unique (execution, seq) below, which starts with it: one index fewer
    # to write for every chunk of output.
    execution = models.ForeignKey(
        TaskExecution, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=EventKind.choices)
    at = models.DateTimeField()
    text = models.TextField(blank=True, default="")
    raw_bytes = models.PositiveIntegerField(default=0)
    data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["execution", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "seq"], name="event_seq_unique")
        ]


def artifact_path(artifact: Artifact, filename: str) -> str:
    # The stored name is generated; the script's file name is kept in ``name`` only.
    return f"artifacts/{artifact.execution.task_id}/{uuid.uuid4().hex}"


class Artifact(models.Model):
    """A file a script left in its ``SCRIPT_OUTPUT_DIR``."""

    execution = models.ForeignKey(TaskExecution, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=512, help_text="Path relative to the output folder.")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=artifact_path, max_length=512)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["execution", "name"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "name"], name="artifact_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


def upload_path(upload: Upload, filename: str) -> str:
    # Never the client's file name: it may be "../../etc/passwd".
    return f"uploads/{upload.id.hex}"


class Upload(models.Model):
    """A file sent for a ``file`` parameter, stored under a generated name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=255, help_text="The client's file name, shown only.")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=upload_path, max_length=512)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class ResultRecord(models.Model):
    """The source's ``ScanDevUpdate_scanResult``: one per successful execution."""

    execution = models.OneToOneField(
        TaskExecution, on_delete=models.CASCADE, related_name="result_record"
    )
    scandevresult_filename = models.CharField(max_length=512)
    scandevresult_time = models.DateTimeField()
    director = models.CharField(max_length=100, default=legacy.SYSTEM_DIRECTOR)
    remark = models.TextField(blank=True, default="")
    scandevresult_content = models.TextField()
    status = models.CharField(max_length=16, default="0")
    result_type = models.CharField(max_length=32, default="script")
    script_name = models.CharField(max_length=255)
    task_id = models.CharField(max_length=64, unique=True)
    page_context = models.CharField(max_length=255, blank=True, default="", db_index=True)
    execution_time = models.FloatField(null=True, blank=True)
    script_output = models.TextField(blank=True, default="")
    error_message = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["-scandevresult_time", "-id"]

    def __str__(self) -> str:
        return self.scandevresult_filename


class Lease(models.Model):
    """A named role only one process may hold at a time (the sweeper), until it expires."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder}"


class Worker(models.Model):
    """A Celery worker that said it is alive."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    concurrency = models.PositiveIntegerField(default=1)
    version = models.CharField(max_length=32, blank=True, default="")
    pid = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname
