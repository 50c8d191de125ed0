"""The Celery application. Its messages only say "run execution N"; the database holds the rest."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptdeck.settings")

app = Celery("scriptdeck")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["scriptdeck.worker"])

EXECUTE_TASK = "scriptdeck.execute"
