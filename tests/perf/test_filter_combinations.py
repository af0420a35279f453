"""Every combination of two funding filters, on the explorer, the API list and the API's grouped
totals: at most 15 queries, the same number at two data sizes (issue 16, point 2). Their build
times at 100 000 records are measured by ``python -m tests.support.timings --pairs`` (a benchmark,
not a test: docs/performance.md)."""

from __future__ import annotations

from itertools import combinations

import pytest
from django.core.management import call_command
from django.test.utils import CaptureQueriesContext

from tests.factories import FUNDING_FILTER_VALUES, funding_matching_every_filter

pytestmark = pytest.mark.django_db

MAX_QUERIES = 15


def addresses() -> list[str]:
    queries = [
        "&".join(f"{name}={FUNDING_FILTER_VALUES[name]}" for name in pair)
        for pair in combinations(FUNDING_FILTER_VALUES, 2)
    ]
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
    # Two records that each match every filter (but "part of" and "top-level only", which no
    # record matches together): every other pair has rows at both sizes, so it runs all its
    # queries at both (an empty page skips its prefetches).
    funding_matching_every_filter()


def _counts(client) -> dict[str, int]:
    """Each address's queries, asked a second time. The first answer after a rebuild in a process
    also reads the in-memory snapshot (2 queries), its filters' records (1) and the list's order
    (1): within the budget too (checked here), but not on every request."""
    from django.db import connection

    counts = {}
    for address in addresses():
        for _first_then_counted in range(2):
            connection.queries_log.clear()  # it keeps 9 000 queries: the counts would stop at that
            with CaptureQueriesContext(connection) as captured:
                response = client.get(address)
            assert response.status_code == 200, (address, response.status_code)
            assert len(captured.captured_queries) <= MAX_QUERIES, address
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
