"""The source's package name, kept so ``from celery_app.script_base import …`` still works."""
