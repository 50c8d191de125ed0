"""The ASGI entry point served by uvicorn."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptdeck.settings")
# Requests run in threads of their own: on PostgreSQL the web server takes its connections
# from a pool (settings.py says why); SCRIPTDECK_DB_POOL=false turns that off.
os.environ.setdefault("SCRIPTDECK_DB_POOL", "true")

application = get_asgi_application()
