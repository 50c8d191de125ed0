from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "scriptdeck.access"
    label = "access"
    verbose_name = "Access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (sign-in events go to the audit log)
