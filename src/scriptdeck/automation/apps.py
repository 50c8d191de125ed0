from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "scriptdeck.automation"
    label = "automation"
    verbose_name = "Automation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import notifications  # noqa: F401  (queues deliveries when a run ends)
