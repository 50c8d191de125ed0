"""Firing schedules: one scheduler at a time (a lease), each tick claimed by a conditional
UPDATE, so a tick starts at most one run however many schedulers are started."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from threading import Event, Thread
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from scriptdeck.access.models import Level
from scriptdeck.access.permissions import can
from scriptdeck.executions import services
from scriptdeck.executions.models import Status, TaskExecution, Trigger
from scriptdeck.refusals import Refusal

from .models import MisfirePolicy, OverlapPolicy, Schedule

log = logging.getLogger(__name__)

RUNNING = (Status.PENDING, Status.STARTED)


class ScheduleError(Refusal, ValueError):
    """A schedule that cannot be planned: names the field and says why."""

    default_code = "schedule_invalid"


def check_timing(cron: str, interval_seconds: int | None, zone: str) -> None:
    """Refuse a timing that cannot be planned, before it is stored."""
    if bool(cron) == bool(interval_seconds):
        raise ScheduleError("cron", "give either a cron expression or an interval, not both")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError("timezone", f"unknown time zone {zone!r}") from None
    if cron:
        if len(cron.split()) != 5:
            raise ScheduleError("cron", "five fields: minute hour day-of-month month day-of-week")
        try:
            next(CronSim(cron, datetime.now(tz)))
        except (CronSimError, StopIteration) as exc:
            raise ScheduleError("cron", f"not a valid cron expression: {exc}") from None


def next_tick(schedule: Schedule, after: datetime) -> datetime:
    """The first tick strictly after ``after``, in UTC."""
    if schedule.interval_seconds:
        return after + timedelta(seconds=schedule.interval_seconds)
    tz = ZoneInfo(schedule.timezone)
    # cronsim walks local wall-clock time, so daylight saving changes are honoured.
    return next(CronSim(schedule.cron, after.astimezone(tz))).astimezone(UTC)


def first_tick_after(
    schedule: Schedule, scheduled: datetime, now: datetime
) -> tuple[datetime, int]:
    """The next tick after ``now`` counting from ``scheduled``, and how many fell in between."""
    if schedule.interval_seconds:
        step = schedule.interval_seconds
        passed = math.floor((now - scheduled).total_seconds() / step)
        return scheduled + timedelta(seconds=step * (passed + 1)), max(passed, 0)
    tick, missed = next_tick(schedule, scheduled), 0
    while tick <= now and missed < 100_000:
        tick, missed = next_tick(schedule, tick), missed + 1
    if tick <= now:  # a very long outage of a very frequent schedule: start afresh
        tick = next_tick(schedule, now)
    return tick, missed


def period(schedule: Schedule, around: datetime) -> float:
    if schedule.interval_seconds:
        return float(schedule.interval_seconds)
    first = next_tick(schedule, around)
    return (next_tick(schedule, first) - first).total_seconds()


def plan(schedule: Schedule, now: datetime | None = None) -> None:
    """Set the first run of a new, re-enabled or re-timed schedule (not saved)."""
    now = now or timezone.now()
    schedule.next_run_at = next_tick(schedule, now) if schedule.enabled else None


@dataclass
class Fired:
    schedule_id: int
    action: str  # started, queued, skipped_overlap, skipped_missed, refused
    execution_id: int | None = None
    detail: str = ""


def run_due(now: datetime | None = None, limit: int = 100) -> list[Fired]:
    """Start what is due: queued runs whose previous run ended, then every due tick."""
    now = now or timezone.now()
    fired: list[Fired] = []
    for schedule_id in Schedule.objects.filter(enabled=True, queued_at__isnull=False).values_list(
        "pk", flat=True
    )[:limit]:
        result = _release_queued(schedule_id, now)
        if result is not None:
            fired.append(result)
    due = Schedule.objects.filter(enabled=True, next_run_at__lte=now).order_by("next_run_at")
    for schedule_id in due.values_list("pk", flat=True)[:limit]:
        result = _fire_tick(schedule_id, now)
        if result is not None:
            fired.append(result)
    return fired


def _fire_tick(schedule_id: int, now: datetime) -> Fired | None:
    with transaction.atomic():
        schedule = (
            Schedule.objects.select_related("script", "owner", "last_execution")
            .filter(pk=schedule_id, enabled=True, next_run_at__lte=now)
            .first()
        )
        if schedule is None:
            return None
        scheduled = schedule.next_run_at
        assert scheduled is not None
        following, missed = first_tick_after(schedule, scheduled, now)
        # The claim: only the scheduler that moves next_run_at on fires this tick.
        if not Schedule.objects.filter(pk=schedule_id, next_run_at=scheduled).update(
            next_run_at=following
        ):
            return None
        late = (now - scheduled).total_seconds()
        grace = min(settings.SCRIPTDECK_SCHEDULE_GRACE, max(period(schedule, scheduled) / 2, 1.0))
        if late > grace and schedule.misfire_policy == MisfirePolicy.SKIP:
            count = missed + 1
            message = (
                f"{count} run(s) missed while no scheduler was running (due from "
                f"{scheduled:%Y-%m-%d %H:%M:%S} UTC) were skipped, as this schedule's "
                "misfire policy says"
            )
            _note(schedule_id, message, skipped=count)
            return Fired(schedule_id, "skipped_missed", detail=message)
        return _start(schedule, now)


def _release_queued(schedule_id: int, now: datetime) -> Fired | None:
    with transaction.atomic():
        schedule = (
            Schedule.objects.select_related("script", "owner", "last_execution")
            .filter(pk=schedule_id, enabled=True, queued_at__isnull=False)
            .first()
        )
        if schedule is None or _still_running(schedule):
            return None
        if not Schedule.objects.filter(pk=schedule_id, queued_at=schedule.queued_at).update(
            queued_at=None
        ):
            return None
        return _start(schedule, now, overlap_checked=True)


def _still_running(schedule: Schedule) -> bool:
    previous = schedule.last_execution_id
    if previous is None:
        return False
    status = TaskExecution.objects.filter(pk=previous).values_list("status", flat=True).first()
    return status in RUNNING


def _start(schedule: Schedule, now: datetime, overlap_checked: bool = False) -> Fired:
    if not overlap_checked and _still_running(schedule):
        if schedule.overlap_policy == OverlapPolicy.SKIP:
            message = f"skipped: execution {schedule.last_execution_id} was still running"
            _note(schedule.pk, message, skipped=1)
            return Fired(schedule.pk, "skipped_overlap", detail=message)
        if schedule.overlap_policy == OverlapPolicy.QUEUE:
            Schedule.objects.filter(pk=schedule.pk, queued_at__isnull=True).update(queued_at=now)
            return Fired(schedule.pk, "queued", detail="waits for the previous run to end")
    owner = schedule.owner
    if owner is None or not owner.is_active or not can(owner, schedule.script, Level.RUN):
        message = "not started: the schedule's owner may not run this script (any more)"
        _note(schedule.pk, message)
        return Fired(schedule.pk, "refused", detail=message)
    try:
        execution = services.submit(
            script=schedule.script,
            parameters=schedule.parameters,
            page_context=schedule.page_context,
            user=owner,
            secret_parameters=schedule.secret_parameters,
            trigger=Trigger.SCHEDULE,
            trigger_ref=str(schedule.pk),
        )
    except services.SubmitError as exc:
        message = f"not started: {exc.message}"
        _note(schedule.pk, message)
        return Fired(schedule.pk, "refused", detail=message)
    Schedule.objects.filter(pk=schedule.pk).update(
        last_execution=execution, last_run_at=now, last_error=""
    )
    log.info("schedule %s started execution %s", schedule.pk, execution.pk)
    return Fired(schedule.pk, "started", execution_id=execution.pk)


def _note(schedule_id: int, message: str, skipped: int = 0) -> None:
    log.info("schedule %s: %s", schedule_id, message)
    Schedule.objects.filter(pk=schedule_id).update(
        last_error=message, skipped_runs=F("skipped_runs") + skipped
    )


def _deliver_forever(stop: Event, interval: float) -> None:
    from django.db import close_old_connections

    from . import delivery

    while not stop.is_set():
        close_old_connections()
        try:
            delivery.deliver_due()
        except Exception:
            log.exception("sending notifications failed; trying again in %s s", interval)
        stop.wait(interval)


def serve(stop: Event, interval: float, holder: str, once: bool = False) -> None:
    """The scheduler process: fire due schedules and send due notifications, while this
    process holds the scheduler lease; stand by while another one does."""
    from scriptdeck.executions import leases

    # Deliveries run beside the schedules, so a slow mail server never delays a tick.
    # Each delivery is claimed by a conditional UPDATE: any number of senders is safe.
    sender = Thread(
        target=_deliver_forever, args=(stop, max(interval, 0.5)), name="notify", daemon=True
    )
    sender.start()
    leases.run_leased(
        "scheduler",
        holder,
        work=run_due,
        stop=stop,
        interval=interval,
        lease_seconds=max(interval * 6, 3.0),
        log=log,
        failure="scheduler pass failed",
        once=once,
    )
