"""The console's page is served for its routes, never cached, and shadows nothing else."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from scriptdeck.console import views


@pytest.fixture
def built(tmp_path, monkeypatch):
    index = tmp_path / "index.html"
    index.write_text('<!doctype html><script type="module" src="/static/console/a.js"></script>')
    monkeypatch.setattr(views, "INDEX", index)
    views._cached_index.cache_clear()
    yield index
    views._cached_index.cache_clear()


@pytest.mark.parametrize("path", ["/", "/scripts", "/executions/42", "/history?status=SUCCESS"])
def test_console_routes_get_the_page_uncached(built, path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    assert b'src="/static/console/a.js"' in response.content
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/nothing-here/", 404), ("/api", 301), ("/healthz", None), ("/admin/", 302)],
)
def test_other_routes_are_not_shadowed(built, path, status):
    response = Client().get(path)
    assert not response.content.startswith(b"<!doctype html><script")
    if status is not None:
        assert response.status_code == status


def test_only_get_and_head(built):
    assert Client().post("/scripts").status_code in (403, 405)  # CSRF refuses first
    assert Client(enforce_csrf_checks=False).head("/scripts").status_code == 200


def test_an_unbuilt_console_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(views, "INDEX", tmp_path / "missing.html")
    views._cached_index.cache_clear()
    response = Client().get("/")
    assert response.status_code == 503
    assert b"make install" in response.content
    views._cached_index.cache_clear()


def test_vite_assets_are_immutable(settings):
    immutable = re.compile(settings.WHITENOISE_IMMUTABLE_FILE_TEST)
    assert immutable.search("/static/console/assets/index-C56X01Wb.js")
    assert immutable.search("/static/console/assets/OverviewView-Dsav-grf.css")
    assert not immutable.search("/static/console/index.html")
    assert not immutable.search("/static/admin/css/base.css")
