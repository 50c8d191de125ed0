from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "scriptdeck.console"
    label = "console"
    verbose_name = "Web console"
