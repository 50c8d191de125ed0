from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "scriptdeck.catalog"
    label = "catalog"
    verbose_name = "Scripts"
