"""A registered script: a file in the scripts folder and the settings it runs with."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from .limits import ZeroOrAtLeast

RETRYABLE_REASONS = ("spawn_failed", "worker_lost", "timeout")
RESERVED_VARIABLES = frozenset(
    {"PAGE_CONTEXT", "EXECUTION_ID", "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONIOENCODING"}
)


def default_retry_reasons() -> list[str]:
    return ["spawn_failed", "worker_lost"]


def _limit(floor: int, what: str, setting: str) -> models.PositiveIntegerField:
    """One resource limit of a script: empty takes the global default, 0 means none."""
    return models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[ZeroOrAtLeast(floor), MaxValueValidator(2**31 - 1)],
        help_text=f"{what} Empty: SCRIPTDECK_LIMIT_{setting}. 0: no limit.",
    )


class Script(models.Model):
    name = models.CharField(
        max_length=255, unique=True, help_text="Path relative to the scripts folder, no extension."
    )
    path = models.CharField(
        max_length=1024, unique=True, help_text="File path relative to the scripts folder."
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    parameter_schema = models.JSONField(
        default=dict,
        blank=True,
        help_text="Edited here, it replaces what the script declares. Empty: the script's own.",
    )
    declared_schema = models.JSONField(
        default=dict, blank=True, editable=False, help_text="Read from the file at the last sync."
    )
    schema_source = models.CharField(
        max_length=20,
        blank=True,
        editable=False,
        help_text="sidecar, declared, argparse, click, typer, inferred, or another reader's name.",
    )
    schema_origin = models.TextField(
        blank=True, editable=False, help_text="Where the form was read: the file, function, line."
    )
    schema_problems = models.JSONField(default=list, blank=True, editable=False)
    entrypoint = models.BooleanField(
        default=False,
        editable=False,
        help_text="The script defines main(...) and no __main__ block: the SDK calls main.",
    )
    argv = models.JSONField(
        default=list,
        blank=True,
        help_text='Command-line arguments, each its own item; an item "{name}" is replaced by '
        "that parameter's value (a list gives one argument per element). Parameters reach "
        "the command line only this way.",
    )
    soft_time_limit = models.PositiveIntegerField(
        default=540,
        validators=[MinValueValidator(1)],
        help_text="Seconds; then SIGTERM to the script's process group.",
    )
    time_limit = models.PositiveIntegerField(
        default=600,
        validators=[MinValueValidator(1)],
        help_text="Seconds; then SIGKILL to the whole process tree.",
    )
    # Resource limits; empty: the global default (SCRIPTDECK_LIMIT_*), 0: no limit at all.
    memory_limit_mb = _limit(
        16, "MiB of memory for the script and everything it starts.", "MEMORY_MB"
    )
    process_limit = _limit(1, "Processes (and threads) at once.", "PROCESSES")
    cpu_limit_seconds = _limit(1, "CPU seconds per process.", "CPU_SECONDS")
    file_size_limit_mb = _limit(1, "MiB: the largest file the script may write.", "FILE_SIZE_MB")
    open_files_limit = _limit(16, "Files open at once per process.", "OPEN_FILES")
    queue = models.CharField(
        max_length=100,
        default="default",
        validators=[RegexValidator(r"^[A-Za-z0-9_.:-]+$", "Letters, digits and _ . : - only.")],
    )
    max_concurrent = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many runs at once; the rest wait their turn. Empty: no limit.",
    )
    max_retries = models.PositiveSmallIntegerField(
        default=0,
        help_text="Runs again after an infrastructure failure, at most this many times. "
        "0: never. The script's own failure is never retried unless its exit code is listed.",
    )
    retry_on = models.JSONField(
        default=default_retry_reasons,
        blank=True,
        help_text="Failure reasons that are retried: spawn_failed, worker_lost, timeout.",
    )
    retry_exit_codes = models.JSONField(
        default=list, blank=True, help_text="Exit codes the script uses for 'try again later'."
    )
    retry_backoff = models.PositiveIntegerField(
        default=60, help_text="Seconds before the first retry; doubled for each next one."
    )
    rerun_on_worker_lost = models.BooleanField(
        default=False,
        help_text="When its worker dies or stops mid-run, run it once more (it may have been "
        "half done: only for scripts safe to run twice).",
    )
    network = models.BooleanField(
        default=True,
        help_text="Whether runs may reach the network. Off: each run gets an empty network "
        "namespace of its own (bubblewrap); a worker without one refuses the run.",
    )
    warm_start = models.BooleanField(
        null=True,
        blank=True,
        help_text="Start from the worker's warm fork server instead of a new interpreter "
        "(Python scripts). Empty: the global default, SCRIPTDECK_WARM_START.",
    )
    preload = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text='Modules the warm server imports ahead: the script\'s PRELOAD = ["pandas"].',
    )
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the file at the last sync.")
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    missing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(time_limit__gte=F("soft_time_limit")),
                name="script_hard_limit_not_below_soft",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_schema(self) -> dict:
        """The admin's schema when set, else the one the file declares or implies."""
        return self.parameter_schema or self.declared_schema or {}


class ScriptVariable(models.Model):
    """An environment variable given to every run of a script, encrypted at rest.

    Never returned by the API; a secret one is masked wherever the script prints it.
    """

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="variables")
    name = models.CharField(
        max_length=100,
        validators=[
            RegexValidator(r"^[A-Za-z_][A-Za-z0-9_]*$", "Letters, digits and _; not a digit first.")
        ],
    )
    value_encrypted = models.TextField(editable=False)
    is_secret = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["script", "name"]
        constraints = [
            models.UniqueConstraint(fields=["script", "name"], name="one_variable_per_name")
        ]

    def __str__(self) -> str:
        return f"{self.script}: {self.name}"

    def clean(self) -> None:
        if self.name in RESERVED_VARIABLES or self.name.startswith(("SCRIPT_", "SCRIPTDECK_")):
            raise ValidationError({"name": "This name is set by scriptdeck for every run."})
