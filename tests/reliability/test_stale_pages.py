"""An unpublished page is gone from every app process at once: without a cache every process
shares (Redis), there is no page cache at all, and turning one on is refused."""

from __future__ import annotations

import subprocess
import sys

import pytest

from migrationsupport import services
from tests.factories import RegionFactory
from tests.reliability.conftest import BASE_DIR, fetch
from tests.reliability.test_security import _production_env


@pytest.mark.django_db(transaction=True)
def test_an_unpublished_page_is_404_on_every_worker_at_once_without_redis(app_process):
    region = RegionFactory(slug="delta", name="Delta")
    # The README's production command (two workers), without REDIS_URL and with the default
    # PAGE_CACHE_SECONDS: each worker would otherwise keep its own copy of the page.
    base = app_process(workers=2, PAGE_CACHE_SECONDS=None, REDIS_URL=None)
    assert [fetch(f"{base}/regions/delta/")[0] for _ in range(12)] == [200] * 12

    services.unpublish(instance=region, user=None)

    assert [fetch(f"{base}/regions/delta/")[0] for _ in range(12)] == [404] * 12


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = _production_env()
    environment.pop("REDIS_URL", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )


def test_a_page_cache_without_redis_is_refused_at_startup():
    refused = _manage("check", PAGE_CACHE_SECONDS="600")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: PAGE_CACHE_SECONDS needs REDIS_URL" in refused.stderr
    assert _manage("check", PAGE_CACHE_SECONDS="0").returncode == 0
    shared = _manage("check", PAGE_CACHE_SECONDS="600", REDIS_URL="redis://127.0.0.1:6379/15")
    assert shared.returncode == 0, shared.stderr
