"""Every combination of two funding filters, on the explorer, the API list and the API's grouped
totals: at most 15 queries, the same number at two data sizes (issue 16, point 2). Their build
times at 100 000 records are measured by ``python -m tests.support.timings --pairs`` (a benchmark,
not a test: docs/performance.md)."""

from __future__ import annotations

import datetime
from itertools import combinations

import pytest
from django.core.management import call_command
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

MAX_QUERIES = 15

FILTERS = {
    "region": "r",
    "country": "TR",
    "instrument": "i",
    "theme": "t",
    "conference": "c",
    "parent": "whole",
    "donor": "eu",
    "kind": "programme",
    "qualifier": "exact",
    "year": "2024",
    "year_min": "2021",
    "year_max": "2024",
    "amount_min": "1",
    "amount_max": "1000000000",
    "top_level": "true",
}


def addresses() -> list[str]:
    queries = ["&".join(f"{name}={FILTERS[name]}" for name in pair) for pair in combinations(FILTERS, 2)]
    return [
        address
        for query in queries
        for address in (
            f"/funding/?{query}",
            f"/api/v1/funding/?{query}",
            f"/api/v1/funding/totals/?group_by=region&{query}",
        )
    ]


@pytest.fixture
def dataset(settings):
    rates = dict.fromkeys(("anon", "expensive", "export"), "1000000/second")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    region = RegionFactory(slug="r")
    country = CountryFactory(region=region, iso_code="TR")
    theme = ThemeFactory(slug="t")
    instrument = InstrumentFactory(slug="i")
    conference = PledgingConferenceFactory(slug="c")
    # Two records that each match every filter (but "part of" and "top-level only", which no
    # record matches together): every other pair has rows at both sizes, so it runs all its
    # queries at both (an empty page skips its prefetches).
    links = {
        "regions": [region],
        "countries": [country],
        "themes": [theme],
        "instrument": instrument,
        "conference": conference,
        "donor": "eu",
        "kind": "programme",
        "qualifier": "exact",
        "period_start": datetime.date(2024, 1, 1),
        "period_start_precision": "year",
        "period_end": datetime.date(2024, 1, 1),
        "period_end_precision": "year",
    }
    whole = FundingRecordFactory(slug="whole", **links)
    FundingRecordFactory(parent=whole, **links)


def _counts(client) -> dict[str, int]:
    from django.db import connection

    counts = {}
    for address in addresses():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(address)
        assert response.status_code == 200, (address, response.status_code)
        counts[address] = len(captured.captured_queries)
    return counts


def test_every_pair_of_filters_stays_within_the_query_budget_at_two_sizes(client, dataset):
    client.get("/funding/")  # first request: content types, caches of the process
    small = _counts(client)
    over = {address: n for address, n in small.items() if n > MAX_QUERIES}
    assert not over, over

    call_command("generate_demo_data", funding=200, verbosity=0)

    large = _counts(client)
    assert max(large.values()) <= MAX_QUERIES
    # "Part of" and "top-level only" together select nothing, at any size.
    assert {a: n for a, n in large.items() if not _contradiction(a)} == {
        a: n for a, n in small.items() if not _contradiction(a)
    }


def _contradiction(address: str) -> bool:
    return "parent=" in address and "top_level=" in address
