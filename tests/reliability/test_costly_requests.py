"""No cheap request costs seconds (issue 14): the requests a security review found slow or failing
at +20 000 funding records answer 400 or 200, in well under a second each.

The records are made once for the module, inside a transaction rolled back at its end, by the
same code as ``generate_demo_data``; ``ANALYZE`` then gives PostgreSQL the statistics it has in
production (without them it plans the explorer's totals for an empty table: minutes).
"""

from __future__ import annotations

import random
import string
import time

import pytest
from django.db import connection, transaction
from django.test import Client

from funding.models import FundingRecord
from migrationsupport.site.management.commands.generate_demo_data import generate
from tests.factories import CountryFactory, InstrumentFactory, RegionFactory, ThemeFactory

RECORDS = 20_000
BUDGET_SECONDS = 1.0
# 1 900 one-letter terms: a 4 KB address.
TERMS = " ".join(string.ascii_lowercase[i % 26] for i in range(1_900))
# The most a search may ask: ten terms, each matching every record; ten terms of 100 characters.
TEN_MATCHING_TERMS = " ".join(["synthetic"] * 10)
TEN_LONGEST_TERMS = " ".join([("synthetic" * 12)[:100]] * 10)
OUT_OF_RANGE = "1e-999999"


@pytest.fixture(scope="module")
def many_records(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        region = RegionFactory(slug="south")
        CountryFactory(region=region)
        ThemeFactory()
        InstrumentFactory()
        generate(funding=RECORDS, rng=random.Random(2024), progress=False)
        # Checked once here, not again after every test (each test's rollback checks the deferred
        # foreign keys still pending in the transaction).
        connection.check_constraints()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        yield
        transaction.set_rollback(True)


CASES = [
    # (id, address, query, expected status)
    ("api-list-1900-terms", "/api/v1/funding/", {"search": TERMS}, 400),
    ("api-totals-1900-terms", "/api/v1/funding/totals/", {"search": TERMS}, 400),
    # Cut to its first ten words (the page shows what it ran).
    ("search-page-1900-terms", "/search/", {"q": TERMS}, 200),
    # The explorer has no text search: the unfiltered page.
    ("explorer-1900-terms", "/funding/", {"search": TERMS}, 200),
    # The whole table as CSV, whatever the page: streamed, so it answers at once (the rows
    # follow; their time at +100 000 records is in docs/performance.md).
    ("api-csv-bad-page", "/api/v1/funding/", {"format": "csv", "page": "abc"}, 200),
    ("api-csv", "/api/v1/funding/", {"format": "csv"}, 200),
    ("api-list-amount", "/api/v1/funding/", {"amount_min": OUT_OF_RANGE}, 400),
    ("api-totals-amount", "/api/v1/funding/totals/", {"amount_min": OUT_OF_RANGE}, 400),
    ("explorer-amount", "/funding/", {"amount_min": OUT_OF_RANGE}, 400),
    ("export-amount", "/funding/export.csv", {"amount_min": OUT_OF_RANGE}, 400),
    ("api-list-10-matching-terms", "/api/v1/funding/", {"search": TEN_MATCHING_TERMS}, 200),
    ("api-totals-10-matching-terms", "/api/v1/funding/totals/", {"search": TEN_MATCHING_TERMS}, 200),
    ("api-list-10-longest-terms", "/api/v1/funding/", {"search": TEN_LONGEST_TERMS}, 200),
    ("search-page-10-matching-terms", "/search/", {"q": TEN_MATCHING_TERMS}, 200),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "query", "status"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_pathological_request_answers_fast(many_records, path, query, status):
    assert FundingRecord.objects.count() >= RECORDS
    client = Client()
    # The best of three: a slow neighbour on the machine can stretch one run, while a request
    # that is slow because of what it asks is slow every time.
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        response = client.get(path, query)
        timings.append(time.perf_counter() - started)
        assert response.status_code == status, response.content[:300]
        if timings[-1] < BUDGET_SECONDS:
            break
    assert min(timings) < BUDGET_SECONDS, timings
