"""PostgreSQL or Redis going away: a plain 503 page (never a traceback) that heals by itself, and
pages served from the database while Redis is down. /healthz says which part is missing."""

from __future__ import annotations

import json
import time

import pytest

from tests.factories import RegionFactory
from tests.reliability.conftest import fetch, free_port


def _until(url: str, status: int, timeout: float = 10) -> tuple[int, dict, str]:
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch(url)
        if answer[0] == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_database_outage_answers_503_and_recovers_by_itself(pg_proxy, app_process):
    RegionFactory(slug="alpha", name="Alpha")
    db = __import__("django.db", fromlist=["connection"]).connection.settings_dict
    base = app_process(DATABASE_URL=f"postgres://{db['USER']}@127.0.0.1:{pg_proxy.port}/{db['NAME']}")

    status, _, body = fetch(f"{base}/regions/alpha/")
    assert status == 200 and "Alpha" in body
    status, _, body = fetch(f"{base}/healthz")
    assert status == 200 and json.loads(body)["database"] == "ok"

    pg_proxy.stop()
    status, headers, body = fetch(f"{base}/regions/alpha/")
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "temporarily unavailable" in body
    assert "Traceback" not in body and "OperationalError" not in body
    assert "Content-Security-Policy" in headers
    status, _, body = fetch(f"{base}/healthz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "database": "unavailable", "cache": "ok"}
    status, _, body = fetch(f"{base}/api/v1/regions/")
    assert status == 503

    pg_proxy.start()  # the same process, no restart
    status, _, body = _until(f"{base}/regions/alpha/", 200)
    assert status == 200 and "Alpha" in body
    assert fetch(f"{base}/healthz")[0] == 200
    assert fetch(f"{base}/api/v1/regions/")[0] == 200


@pytest.mark.django_db(transaction=True)
def test_redis_outage_keeps_the_site_serving_from_the_database(app_process):
    RegionFactory(slug="beta", name="Beta")
    base = app_process(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", PAGE_CACHE_SECONDS="600")
    for _ in range(2):
        status, _, body = fetch(f"{base}/regions/beta/")
        assert status == 200 and "Beta" in body
    assert fetch(f"{base}/api/v1/regions/")[0] == 200
    status, _, body = fetch(f"{base}/healthz")
    assert status == 200  # the site serves without its cache: load balancers keep it in
    assert json.loads(body) == {"status": "ok", "database": "ok", "cache": "unavailable"}


@pytest.mark.django_db
def test_healthz_reports_database_and_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]
