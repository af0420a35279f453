"""`make bench`'s baselines and table (the benchmark itself runs outside the suite)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from tests.factories import RegionFactory
from tests.support.bench import PAGES, Result, render
from tests.support.bench_urls import one_query

pytestmark = pytest.mark.django_db


def test_one_query_view_reads_one_row_in_one_query(django_assert_num_queries):
    RegionFactory(name="Western Balkans")
    RegionFactory(name="Sahel")
    with django_assert_num_queries(1):
        response = one_query(RequestFactory().get("/bench/one-query/"))
    assert response.content == b"Western Balkans"


def test_table_compares_each_page_with_hello_world_of_the_same_run():
    hello, one_query, overview = (label for label, _ in PAGES[:3])
    results = [
        Result("seed", "off", hello, 3000, 2, 4, 0, 80, 0),
        Result("seed", "off", one_query, 1200, 5, 9, 1, 82, 0),
        Result("seed", "off", overview, 30, 250, 300, 34, 95, 0),
        Result("seed", "warm", hello, 2000, 2, 4, 0, 80, 0),
        Result("seed", "warm", overview, 1500, 3, 5, 0, 90, 0),
    ]
    ratios = {}
    for line in render(results).splitlines()[2:]:
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        ratios[tuple(cells[:3])] = cells[8]
    assert ratios[("seed", "off", one_query)] == "0.40"
    assert ratios[("seed", "off", overview)] == "0.01"
    assert ratios[("seed", "warm", overview)] == "0.75"
