import pytest

from tests.factories import SourceFactory


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


@pytest.fixture
def source(db):
    return SourceFactory()
