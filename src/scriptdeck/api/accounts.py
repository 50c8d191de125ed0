"""Signing in and out, who am I, personal API tokens, and the audit log (staff)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import login, logout
from django.db.models import QuerySet
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scriptdeck.access import audit, services, signin
from scriptdeck.access.models import ApiToken, AuditEvent
from scriptdeck.access.permissions import manages_every_script


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)
    next = serializers.CharField(required=False, allow_blank=True, max_length=2048)


class MeSerializer(serializers.Serializer):
    authenticated = serializers.BooleanField()
    username = serializers.CharField(allow_null=True)
    is_staff = serializers.BooleanField()
    groups = serializers.ListField(child=serializers.CharField())
    can_sync = serializers.BooleanField(
        help_text="May sync the catalog with its folder (POST /api/scripts/sync/)."
    )
    next = serializers.CharField(required=False)


def _me(request: Request, **extra: str) -> dict:
    user = request.user
    signed_in = bool(user and user.is_authenticated)
    return {
        "authenticated": signed_in,
        "username": user.get_username() if signed_in else None,
        "is_staff": bool(signed_in and user.is_staff),
        "groups": list(user.groups.values_list("name", flat=True)) if signed_in else [],
        "can_sync": signed_in and manages_every_script(user),
        **extra,
    }


def _check_credentials(request: Request) -> tuple[CredentialsSerializer, Any]:
    """The user a user name and password name; a refusal (400, 429) raised otherwise."""
    given = CredentialsSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    user = services.check_credentials(
        request, given.validated_data["username"], given.validated_data["password"]
    )
    return given, user


@method_decorator(ensure_csrf_cookie, name="dispatch")
class MeView(APIView):
    """Who is signed in (or nobody); also hands the browser its CSRF cookie."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        get_token(request)
        return Response(_me(request))


@method_decorator(csrf_protect, name="dispatch")
class LoginView(APIView):
    """Session sign-in for the console. CSRF-checked even though nobody is signed in yet."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(request=CredentialsSerializer, responses={200: MeSerializer})
    def post(self, request: Request) -> Response:
        given, user = _check_credentials(request)
        login(request._request, user)
        request.user = user
        target = signin.safe_next(request._request, given.validated_data.get("next"))
        return Response(_me(request, next=target))


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ObtainTokenView(APIView):
    """A new personal token for a user name and password: for scripts and the CLI."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(request=CredentialsSerializer, responses={200: dict})
    def post(self, request: Request) -> Response:
        _, user = _check_credentials(request)
        token, key = services.issue_token(
            user, "obtained with a password", request=request, signed_in_with_password=True
        )
        return Response({"token": key, "id": token.pk, "expires_at": token.expires_at})


class ApiTokenSerializer(serializers.ModelSerializer):
    key = serializers.SerializerMethodField(
        help_text="Only in the answer to the creation; never shown again."
    )

    def get_key(self, token: ApiToken) -> str | None:
        return self.context.get("key")

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "key",
        ]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at", "key"]

    def validate_expires_at(self, value: object) -> object:
        from django.utils import timezone

        if value is not None and value <= timezone.now():  # type: ignore[operator]
            raise serializers.ValidationError("must be in the future")
        return value


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your personal API tokens. DELETE revokes (the token stays listed, revoked)."""

    serializer_class = ApiTokenSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI document's pass
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        incoming = ApiTokenSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        token, key = services.issue_token(
            request.user,
            incoming.validated_data["name"],
            incoming.validated_data.get("expires_at"),
            request=request,
        )
        answer = ApiTokenSerializer(token, context={"key": key}).data
        return Response(answer, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        token = self.get_object()
        services.revoke_token(request.user, token, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor_name",
            "action",
            "target_type",
            "target_id",
            "target_repr",
            "ip",
            "detail",
        ]


class AddressFilter(filters.CharFilter):
    field_class = forms.GenericIPAddressField  # not an address: a 400 naming ``ip``


class AuditFilter(filters.FilterSet):
    ip = AddressFilter(help_text="The client's IP address.")
    action = filters.MultipleChoiceFilter(choices=[(a, a) for a in audit.Action.ALL])
    actor = filters.CharFilter(field_name="actor_name")
    since = filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "target_type", "target_id", "ip", "since", "until"]


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log, newest first: staff only, read-only."""

    serializer_class = AuditEventSerializer
    permission_classes = [permissions.IsAdminUser]
    queryset = AuditEvent.objects.all()
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = AuditFilter
