"""Filters for the execution list: script, status, user, created range."""

from __future__ import annotations

import django_filters

from scriptdeck.executions.models import Status, TaskExecution, Trigger

MAX_ID = 2**63 - 1


def is_id(value: str) -> bool:
    """ASCII digits that fit a database id ("²" is a digit to ``str.isdigit``)."""
    return value.isascii() and value.isdigit() and int(value) <= MAX_ID


class ExecutionFilter(django_filters.FilterSet):
    script = django_filters.CharFilter(method="filter_script", help_text="Script id or name.")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    trigger = django_filters.MultipleChoiceFilter(choices=Trigger.choices)
    trigger_ref = django_filters.CharFilter()
    user = django_filters.CharFilter(field_name="user__username")
    page_context = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

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
        ]

    def filter_script(self, queryset, name, value):  # noqa: ANN001, ANN201
        if is_id(value):
            return queryset.filter(script_id=int(value))
        return queryset.filter(script__name=value)
