import os

import pytest
from django.conf import settings

from tests.factories import SourceFactory

# Production settings redirect plain HTTP to HTTPS; the test client, the live server and the app
# processes tests start on loopback (gunicorn subprocesses inherit this environment) speak plain
# HTTP. Set before any test module builds a WSGI app (SecurityMiddleware reads it once).
os.environ["SECURE_SSL_REDIRECT"] = "0"
settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _static_files_without_manifest(settings):
    """Tests run with DEBUG off but without collectstatic: static names stay unhashed."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    """Most tests look at what a view builds; tests/migrationsupport/test_cache.py turns it on."""
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _no_page_throttles(settings):
    """The explorer, search and CSV throttles (migrationsupport/throttling.py) count every test's
    requests from one address in a cache that outlives the test: off, except in
    tests/reliability/test_throttling.py, which sets them. The API's own rate stays on."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "expensive": None, "export": None},
    }


@pytest.fixture
def source(db):
    return SourceFactory()
