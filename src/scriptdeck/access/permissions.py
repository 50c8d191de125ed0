"""What a user may do with a script, and which scripts and executions they may see.

Staff may do everything. Everyone else holds what grants give them, to themselves or to
one of their groups, on a script or on every script; the highest level wins.

This is the one home of these questions: every door (the API, the compat route, the
admin, the CLI, schedules and webhooks when they fire) asks them here. Two rules run
through all of them:

- a script a user may not see is reported exactly like one that does not exist
  (``run_refusal`` answers a ``NotFound``), so an answer never tells that it exists;
- a row someone started or owns (an execution, a schedule, a webhook) is theirs to act
  on while they hold the level the act needs; a manager of its script may act on
  everyone's (``owner_or_manager``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from scriptdeck.catalog.models import Script
from scriptdeck.catalog.registry import ScriptNotFound
from scriptdeck.ids import is_id
from scriptdeck.refusals import Forbidden, Refusal

from .models import Level, ScriptGrant

NONE = 0


def _grants_of(user: Any) -> QuerySet[ScriptGrant]:
    return ScriptGrant.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))


def level_for(user: Any, script: Script) -> int:
    """The highest level ``user`` holds on ``script``: 0 (none), view, run or manage."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NONE
    if user.is_staff:
        return Level.MANAGE
    best = (
        _grants_of(user)
        .filter(Q(script=script) | Q(script__isnull=True))
        .aggregate(best=Max("level"))["best"]
    )
    return best or NONE


def can(user: Any, script: Script, level: int) -> bool:
    return level_for(user, script) >= level


def scripts_for(user: Any, level: int = Level.VIEW) -> QuerySet[Script]:
    """The scripts on which ``user`` holds at least ``level``."""
    scripts = Script.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return scripts.none()
    if user.is_staff:
        return scripts
    grants = _grants_of(user).filter(level__gte=level)
    if grants.filter(script__isnull=True).exists():
        return scripts
    return scripts.filter(Exists(grants.filter(script=OuterRef("pk"))))


def executions_for(user: Any, queryset: QuerySet) -> QuerySet:
    """Executions ``user`` may see: their own, those of scripts they manage; staff see all."""
    return owned_or_managed(user, queryset, owner_field="user")


def owned_or_managed(user: Any, queryset: QuerySet, owner_field: str = "owner") -> QuerySet:
    """Rows of ``queryset`` (with a ``script``) that ``user`` owns or whose script they
    manage; staff see all."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if user.is_staff:
        return queryset
    managed = _grants_of(user).filter(level__gte=Level.MANAGE)
    if managed.filter(script__isnull=True).exists():
        return queryset
    return queryset.filter(
        Q(**{owner_field: user}) | Q(Exists(managed.filter(script=OuterRef("script_id"))))
    )


def owner_or_manager(
    user: Any, script: Script | None, owner_id: int | None, owner_needs: int = NONE
) -> bool:
    """Whether ``user`` may act on a row of ``script`` owned by ``owner_id``: as a manager of
    the script, or as its owner holding ``owner_needs`` on the script."""
    level = level_for(user, script) if script is not None else NONE
    if user.is_staff or level >= Level.MANAGE:
        return True
    return owner_id is not None and owner_id == user.pk and level >= owner_needs


def run_refusal(user: Any, script: Script, levels: Levels | None = None) -> Refusal | None:
    """Why ``user`` may not run ``script``, or None: a ``NotFound`` when they may not see it
    (it reads as not existing), a ``Forbidden`` when they may see it but not run it."""
    level = levels.of(script) if levels is not None else level_for(user, script)
    if level < Level.VIEW:
        return ScriptNotFound(f"no active script with id or name {script.name!r}")
    if level < Level.RUN:
        return Forbidden("script", f"you may see {script.name!r} but not run it", code="run_denied")
    return None


def require_run(user: Any, script: Script) -> None:
    """Raise ``run_refusal``'s answer unless ``user`` may run ``script``."""
    refused = run_refusal(user, script)
    if refused is not None:
        raise refused


def find_runnable(user: Any, reference: str) -> Script:
    """The active script ``reference`` (an id or a name) names, if ``user`` may run it; one
    they may not see is reported exactly like one that does not exist."""
    reference = str(reference).strip()
    # Every grant of the user read once (none for staff) answers both questions, what they
    # may see and whether they may run it.
    levels = Levels(user)
    query = Script.objects.filter(is_active=True)
    if not levels.staff and levels.everything < Level.VIEW:
        seen = [pk for pk, level in levels.by_script.items() if level >= Level.VIEW]
        query = query.filter(pk__in=seen)
    script = query.filter(pk=int(reference)).first() if is_id(reference) else None
    script = script or query.filter(name=reference).first()
    if script is None:
        raise ScriptNotFound(f"no active script with id or name {reference!r}")
    refused = run_refusal(user, script, levels)
    if refused is not None:
        raise refused
    return script


def runnable_script(user: Any, script: Script) -> str | None:
    """``run_refusal`` as a serializer's field message: an unseen script gets DRF's own
    message for a key that does not exist."""
    refused = run_refusal(user, script)
    if isinstance(refused, ScriptNotFound):
        return f'Invalid pk "{script.pk}" - object does not exist.'
    return None if refused is None else refused.message


class Levels:
    """Every level a user holds, read in one query: for a page of scripts."""

    def __init__(self, user: Any) -> None:
        self.staff = bool(getattr(user, "is_staff", False)) and user.is_active
        self.everything = NONE
        self.by_script: dict[int, int] = {}
        if self.staff or not getattr(user, "is_authenticated", False) or not user.is_active:
            return
        for script_id, level in _grants_of(user).values_list("script_id", "level"):
            if script_id is None:
                self.everything = max(self.everything, level)
            else:
                self.by_script[script_id] = max(self.by_script.get(script_id, NONE), level)

    def of(self, script: Script) -> int:
        if self.staff:
            return Level.MANAGE
        return max(self.everything, self.by_script.get(script.pk, NONE))


def level_name(level: int) -> str | None:
    return Level(level).label if level else None


def manages_every_script(user: Any) -> bool:
    """Staff, or a holder of manage on every script (a grant naming no script): who may
    sync the whole catalog with its folder."""
    levels = Levels(user)
    return levels.staff or levels.everything >= Level.MANAGE
