from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "scriptdeck.executions"
    label = "executions"
    verbose_name = "Executions"
