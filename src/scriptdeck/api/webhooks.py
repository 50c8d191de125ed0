"""Managing incoming webhooks over HTTP: made by who may run the script, the URL shown once."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from scriptdeck.access import permissions as access
from scriptdeck.automation import services
from scriptdeck.automation.models import WebhookTrigger
from scriptdeck.catalog.models import Script


class WebhookSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    script = serializers.PrimaryKeyRelatedField(queryset=Script.objects.filter(is_active=True))
    allowed_fields = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100),
        required=False,
        max_length=200,
    )
    key = serializers.SerializerMethodField(help_text="Only in the answer to the creation.")
    url = serializers.SerializerMethodField(help_text="Only in the answer to the creation.")

    class Meta:
        model = WebhookTrigger
        fields = [
            "id",
            "name",
            "script",
            "owner",
            "prefix",
            "parameters",
            "allowed_fields",
            "page_context",
            "rate_limit",
            "max_wait",
            "created_at",
            "last_used_at",
            "revoked_at",
            "key",
            "url",
        ]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]

    def get_key(self, hook: WebhookTrigger) -> str | None:
        return self.context.get("key")

    def get_url(self, hook: WebhookTrigger) -> str | None:
        key = self.context.get("key")
        if not key:
            return None
        path = reverse("webhook-call", kwargs={"token": key})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your incoming webhooks, and those of scripts you manage (staff: all). DELETE revokes."""

    serializer_class = WebhookSerializer

    def get_queryset(self) -> QuerySet[WebhookTrigger]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI document's pass
            return WebhookTrigger.objects.none()
        hooks = WebhookTrigger.objects.select_related("owner", "script")
        return access.owned_or_managed(self.request.user, hooks)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        incoming = WebhookSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        hook, key = services.create_webhook(
            request.user,
            data.pop("name"),
            data.pop("script"),
            parameters=data.pop("parameters", None),
            allowed_fields=data.pop("allowed_fields", None),
            request=request,
            **data,
        )
        answer = WebhookSerializer(hook, context={"request": request, "key": key}).data
        return Response(answer, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        services.revoke_webhook(request.user, self.get_object(), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
