"""What a user may do with a script, and which scripts and executions they may see.

Staff may do everything. Everyone else holds what grants give them, to themselves or to
one of their groups, on a script or on every script; the highest level wins.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from scriptdeck.catalog.models import Script

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
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if user.is_staff:
        return queryset
    managed = _grants_of(user).filter(level__gte=Level.MANAGE)
    if managed.filter(script__isnull=True).exists():
        return queryset
    return queryset.filter(Q(user=user) | Q(Exists(managed.filter(script=OuterRef("script_id")))))


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


def runnable_script(user: Any, script: Script) -> str | None:
    """Why ``user`` may not run ``script`` (an unseen one reads as not existing), or None."""
    if not scripts_for(user).filter(pk=script.pk).exists():
        return f'Invalid pk "{script.pk}" - object does not exist.'
    if not can(user, script, Level.RUN):
        return "you may see this script but not run it"
    return None


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
