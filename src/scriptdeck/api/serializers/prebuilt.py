"""Output through fields built once per class: a serializer's answer in less time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.fields import Field, SkipField, empty
from rest_framework.relations import PKOnlyObject

from scriptdeck.catalog.parameters import public_schema


class SchemaField(serializers.JSONField):
    """A parameter schema as shown: a secret parameter's default never is."""

    def to_representation(self, value: object) -> object:
        return public_schema(super().to_representation(value))


# Field classes whose output depends on the value alone, never on the serializer's context or
# request (a file's or a hyperlink's URL does): one instance of each may serve every request.
_VALUE_ONLY_FIELDS: frozenset[type[Field]] = frozenset(
    {
        serializers.BigIntegerField,
        serializers.BooleanField,
        serializers.CharField,
        serializers.ChoiceField,
        serializers.DateTimeField,
        serializers.FloatField,
        serializers.IntegerField,
        serializers.JSONField,
        serializers.UUIDField,
        serializers.PrimaryKeyRelatedField,
        serializers.SlugRelatedField,
        SchemaField,
    }
)

# One output step: (name, read the attribute, show it, or the name of a method of the
# serializer that gives the value).
_Step = tuple[str, Callable[[Any], Any] | None, Callable[[Any], Any] | None, str | None]
_plan_lock = threading.Lock()


def _value_only(field: Field) -> bool:
    if type(field) is serializers.ListField:
        return _value_only(field.child)
    return type(field) in _VALUE_ONLY_FIELDS and field.default is empty


class PrebuiltOutput:
    # Output through fields built once per class, not once per serializer. (Comments, not
    # a docstring: drf-spectacular would show a docstring as every subclass's description.)
    #
    # DRF builds (deep-copies) a serializer's fields for every instance, several milliseconds
    # for a model of fifty columns. Here a prototype's fields serve every instance: possible
    # because each one's output depends on the value alone (``_VALUE_ONLY_FIELDS``); a method
    # field still calls the method of the serializer at hand, with its context. The steps
    # are those of ``Serializer.to_representation``, so the answer is the same; a class with
    # any other field keeps DRF's own way. Input and the OpenAPI schema use ``fields`` as ever.

    _output_plan: ClassVar[list[_Step] | None]

    @classmethod
    def output_plan(cls) -> list[_Step] | None:
        if "_output_plan" not in cls.__dict__:
            with _plan_lock:
                if "_output_plan" not in cls.__dict__:
                    cls._output_plan = cls._plan()
        return cls.__dict__["_output_plan"]

    @classmethod
    def _plan(cls) -> list[_Step] | None:
        prototype = cls()
        steps: list[_Step] = []
        for field in prototype._readable_fields:  # type: ignore[attr-defined]
            if type(field) is serializers.SerializerMethodField:
                steps.append((field.field_name, None, None, field.method_name))
            elif _value_only(field):
                steps.append((field.field_name, field.get_attribute, field.to_representation, None))
            else:
                return None
        return steps

    def to_representation(self, instance: Any) -> dict[str, Any]:
        steps = self.output_plan()
        if steps is None:
            return super().to_representation(instance)  # type: ignore[misc]
        shown: dict[str, Any] = {}
        for name, read, show, method in steps:
            if method is not None:
                shown[name] = getattr(self, method)(instance)
                continue
            try:
                value = read(instance)  # type: ignore[misc]
            except SkipField:
                continue
            check_for_none = value.pk if isinstance(value, PKOnlyObject) else value
            shown[name] = None if check_for_none is None else show(value)  # type: ignore[misc]
        return shown
