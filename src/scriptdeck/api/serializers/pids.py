"""Pids of server processes are for staff: a script's author could aim at them otherwise."""

from __future__ import annotations

from typing import Any


class StaffOnlyPids:
    """Leaves ``pid_fields`` out of the answer unless the request's user is staff."""

    pid_fields: tuple[str, ...] = ("pid", "worker_pid")

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)  # type: ignore[misc]
        request = self.context.get("request")  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if not getattr(user, "is_staff", False):
            for name in self.pid_fields:
                data.pop(name, None)
        return data
