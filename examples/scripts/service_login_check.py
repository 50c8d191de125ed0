"""Service login check: declares its parameters, one of them secret."""

# The password reaches the script; everywhere else (records, API, audit log, even this
# script's own output) it shows as ••••.

import hashlib

from celery_app.script_base import ScriptBase, create_simple_script

PARAMETERS = {
    "service_url": {
        "type": "string",
        "title": "Service URL",
        "pattern": "^https?://",
        "default": "https://example.invalid/login",
        "required": True,
    },
    "user": {"type": "string", "minLength": 1, "required": True},
    "password": {"type": "string", "secret": True, "required": True},
    "attempts": {"type": "integer", "minimum": 1, "maximum": 5, "default": 1},
}


def check(script: ScriptBase):
    password = script.get_parameter("password")
    # Printed on purpose: the stored output shows it masked.
    print(
        f"signing in to {script.get_parameter('service_url')} as "
        f"{script.get_parameter('user')} with {password}"
    )
    fingerprint = hashlib.sha256(password.encode()).hexdigest()[:12]
    return script.success_result("checked", {"password_fingerprint": fingerprint})


if __name__ == "__main__":
    create_simple_script("service_login_check", check)
