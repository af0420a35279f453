"""The answers that cost the most (the funding explorer, search, CSV downloads, totals) are
throttled per client address on the pages as in the API: past the rate a 429 with Retry-After."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import FundingRecordFactory

pytestmark = pytest.mark.django_db

RATE = 2
PAGES = {
    "explorer": "/funding/",
    "search": "/search/?q=support",
    "export": "/funding/export.csv",
    # Each download counted once: a subclass of the export view once counted them twice.
    "totals-export": "/funding/totals.csv",
    "iati-export": "/funding/iati-activities.xml",
}


@pytest.fixture(autouse=True)
def _low_rates(settings):
    """tests/conftest.py turns these throttles off for every other test."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "expensive": f"{RATE}/min", "export": f"{RATE}/min"},
    }
    cache.clear()
    yield
    cache.clear()


def _statuses(client: Client, path: str, times: int, **extra) -> list[int]:
    return [client.get(path, **extra).status_code for _ in range(times)]


def _assert_throttled(response) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Too many requests" in response.content.decode()


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_costly_page_answers_429_with_retry_after_past_its_rate(client, page):
    FundingRecordFactory(title="Migration support package")
    assert _statuses(client, PAGES[page], RATE) == [200] * RATE
    _assert_throttled(client.get(PAGES[page]))


@pytest.mark.parametrize(
    "address",
    [
        "/api/v1/funding/?format=csv",
        "/api/v1/funding/totals/?format=csv",
        "/api/v1/funding/totals/",
        "/api/v1/funding/?search=support",
        "/api/v1/themes/?search=support",
    ],
)
def test_the_api_throttles_the_same_answers(client, address):
    assert _statuses(client, address, RATE) == [200] * RATE
    throttled = client.get(address)
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "throttled" in throttled.json()["detail"].lower()


def test_other_api_answers_keep_the_api_rate(client):
    assert _statuses(client, "/api/v1/funding/", RATE + 3) == [200] * (RATE + 3)


def test_a_page_and_the_api_draw_on_one_budget_per_address(client):
    assert _statuses(client, "/funding/", RATE) == [200] * RATE
    assert client.get("/api/v1/funding/totals/").status_code == 429
    assert client.get("/search/?q=support").status_code == 429
    # CSV downloads have their own budget.
    assert client.get("/funding/export.csv").status_code == 200


def test_each_address_has_its_own_budget(client):
    assert _statuses(client, "/funding/", RATE + 1, REMOTE_ADDR="192.0.2.1")[-1] == 429
    assert client.get("/funding/", REMOTE_ADDR="192.0.2.2").status_code == 200


def test_behind_the_proxy_the_client_is_the_address_the_proxy_appended(client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    statuses = [
        # A client rotating its own X-Forwarded-For does not get a new budget.
        client.get("/funding/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 192.0.2.9")
        for n in range(RATE + 1)
    ]
    assert [response.status_code for response in statuses] == [200] * RATE + [429]
    other = client.get("/funding/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert other.status_code == 200


def test_officers_who_are_logged_in_are_not_throttled(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("officer", is_staff=True))
    for page in PAGES.values():
        assert _statuses(client, page, RATE + 2) == [200] * (RATE + 2)


def test_a_throttle_without_its_cache_lets_the_request_through(client):
    down = ConnectionError("cache down")
    with (
        mock.patch.object(SimpleRateThrottle.cache, "incr", side_effect=down),
        mock.patch.object(SimpleRateThrottle.cache, "add", side_effect=down),
    ):
        assert _statuses(client, "/funding/", RATE + 1) == [200] * (RATE + 1)


def test_default_rates_leave_people_room(settings):
    assert settings.EXPENSIVE_ANON_RATE == "60/min"
    assert settings.EXPORT_ANON_RATE == "10/min"


def test_the_api_rate_counts_answers_served_from_the_page_cache(client, settings):
    """Issue 16, point 8: a cached answer is still an answer the client read."""
    settings.PAGE_CACHE_SECONDS = 600
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": f"{RATE}/min",
        },
    }
    FundingRecordFactory()
    answers = [client.get("/api/v1/regions/") for _ in range(RATE + 1)]
    assert [a.get("X-Cache") for a in answers[:RATE]] == ["miss"] + ["hit"] * (RATE - 1)
    throttled = answers[-1]
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "throttled" in throttled.json()["detail"].lower()
    # Another address has its own budget; pages outside the API are not counted by it.
    assert client.get("/api/v1/regions/", REMOTE_ADDR="192.0.2.7")["X-Cache"] == "hit"
    assert client.get("/regions/").status_code == 200
