"""Filters for the execution list: script, status, user, created range; its ordering."""

from __future__ import annotations

import django_filters
from django.db.models import F, OrderBy, QuerySet
from django_filters.constants import EMPTY_VALUES

from scriptdeck.executions.models import Status, TaskExecution, Trigger
from scriptdeck.ids import is_id

# ``ordering`` key: the column it sorts by (what the list shows under that name).
ORDERING_FIELDS = {
    "id": "id",
    "created_at": "created_at",
    "started_at": "started_at",
    "completed_at": "completed_at",
    "execution_time": "execution_time",
    "memory_usage": "memory_usage",
    "status": "status",
    "script_name": "script_name",
    "user": "user__username",
}
# Columns that may be empty (a run not started or not ended yet, a removed user): those rows
# come last whichever the direction, on every database.
NULLABLE = {"started_at", "completed_at", "execution_time", "memory_usage", "user__username"}


class ExecutionOrdering(django_filters.OrderingFilter):
    """``?ordering=-execution_time,script_name``: the keys in turn, then the id.

    The id, in the first key's direction, breaks ties, so that pages never overlap or skip
    a row, and ``-key`` lists the reverse of ``key`` (but for the empty values, last both
    ways). A key not in the list is a 400 naming ``ordering``, like a wrong value of any
    other filter.
    """

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        keys = [key for key in value or [] if key not in EMPTY_VALUES]
        if not keys:
            return qs
        ordering = [self.order_by(key) for key in keys]
        if not any(key.lstrip("-") == "id" for key in keys):
            ordering.append(self.order_by("-id" if keys[0].startswith("-") else "id"))
        return qs.order_by(*ordering)

    def order_by(self, key: str) -> OrderBy:
        descending = key.startswith("-")
        column = self.param_map[key.lstrip("-")]
        nulls_last = True if column in NULLABLE else None
        expression = F(column)
        if descending:
            return expression.desc(nulls_last=nulls_last)
        return expression.asc(nulls_last=nulls_last)


class ExecutionFilter(django_filters.FilterSet):
    script = django_filters.CharFilter(method="filter_script", help_text="Script id or name.")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    trigger = django_filters.MultipleChoiceFilter(choices=Trigger.choices)
    trigger_ref = django_filters.CharFilter()
    user = django_filters.CharFilter(field_name="user__username")
    page_context = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = ExecutionOrdering(
        fields=[(column, key) for key, column in ORDERING_FIELDS.items()],
        help_text=(
            "Sort keys, comma-separated, each optionally prefixed with '-' for descending. "
            "Ties are broken by the id in the first key's direction; empty values (a run "
            "not started or not ended) come last either way. Default: -created_at."
        ),
    )

    class Meta:
        model = TaskExecution
        fields = [
            "script",
            "status",
            "trigger",
            "trigger_ref",
            "user",
            "page_context",
            "created_after",
            "created_before",
            "ordering",
        ]

    def filter_script(self, queryset, name, value):  # noqa: ANN001, ANN201
        if is_id(value):
            return queryset.filter(script_id=int(value))
        return queryset.filter(script__name=value)
