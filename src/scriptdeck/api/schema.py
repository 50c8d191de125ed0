"""What the OpenAPI document says about authentication with personal tokens, and about the
fields only staff are shown."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "scriptdeck.access.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'A personal token: "Token <key>" (or "Bearer <key>").',
        }


# Fields an answer leaves out for non-staff (api/serializers/pids.py): present for staff, so
# they are described, but never required.
STAFF_ONLY = {"pid", "worker_pid"}


def staff_only_fields_are_optional(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: drop the staff-only fields from ``required``."""
    for component in result.get("components", {}).get("schemas", {}).values():
        required = component.get("required")
        if required and STAFF_ONLY & set(required):
            component["required"] = [name for name in required if name not in STAFF_ONLY]
    return result
