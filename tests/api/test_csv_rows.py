"""The API's CSV lists: the fast rows (``CSVRowPlan``) are byte for byte what the serializer
writes, for every endpoint, for the public and for staff; and a download's queries grow with its
chunks of records, not with its rows."""

from __future__ import annotations

import collections
import datetime
import math
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.test import APIClient

import migrationsupport.chunks
from migrationsupport.api.csv_rows import CSVRowPlan
from migrationsupport.spreadsheets import cell, join_list, list_cell, safe_cell
from tests.api.support import ENDPOINTS
from tests.factories import (
    CountryFactory,
    FundingRecordFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


def _csv(client, endpoint, *, fast: bool, monkeypatch) -> bytes:
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(CSVRowPlan, "plan", classmethod(lambda cls, *args, **kwargs: None))
        response = client.get(endpoint.list_url(), {"format": "csv"})
        assert response.status_code == 200
        assert isinstance(response, StreamingHttpResponse)
        return response.getvalue()  # streamed: the rows are written here


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
@pytest.mark.parametrize("who", ["public", "staff"])
def test_fast_csv_rows_are_the_serializers(api, staff_client, dataset, monkeypatch, name, who):
    endpoint = ENDPOINTS[name]
    client = api if who == "public" else staff_client(endpoint.perm("view"))
    planned = []
    plan = CSVRowPlan.plan.__func__

    def spy(cls, *args, **kwargs):
        planned.append(plan(cls, *args, **kwargs))
        return planned[-1]

    monkeypatch.setattr(CSVRowPlan, "plan", classmethod(spy))
    fast = _csv(client, endpoint, fast=True, monkeypatch=monkeypatch)
    assert planned and planned[0] is not None, "the endpoint's CSV fell back to the serializer"
    assert fast == _csv(client, endpoint, fast=False, monkeypatch=monkeypatch)
    assert len(fast.splitlines()) > 1


def test_drafts_and_formulas_in_the_public_funding_csv(api, dataset):
    body = api.get(ENDPOINTS["funding"].list_url(), {"format": "csv"}).getvalue().decode()
    for draft in ("hidden-region", "hidden-theme", "hidden-part", "draft-record", "draft-source"):
        assert draft not in body
    assert "hidden-commitment" not in body
    pledge_row = next(line for line in body.splitlines() if line.startswith("pledge,"))
    assert (
        "other-commitment;paid-commitment" in pledge_row or "paid-commitment;other-commitment" in pledge_row
    )
    assert "unlinked" not in pledge_row
    assert "'=1+2" in body and ",=1+2" not in body
    assert "2024-06,month,June 2024" in body


def test_api_csv_queries_grow_with_chunks_not_rows(api, monkeypatch):
    region, country, theme = RegionFactory(), CountryFactory(), ThemeFactory()
    for n in range(7):
        FundingRecordFactory(slug=f"f-{n}", regions=[region], countries=[country], themes=[theme])

    def queries(chunk: int) -> tuple[int, int]:
        monkeypatch.setattr(migrationsupport.chunks, "CSV_CHUNK", chunk)
        with CaptureQueriesContext(connection) as context:
            body = api.get(ENDPOINTS["funding"].list_url(), {"format": "csv"}).getvalue()
        return len(context.captured_queries), len(body.splitlines()) - 1

    # The records (one server-side cursor), then per chunk: regions, countries, themes,
    # children, the figures each may overlap, what each fulfils, what fulfils each.
    assert queries(2000) == (1 + 7, 7)
    assert queries(2) == (1 + math.ceil(7 / 2) * 7, 7)


def _planned(client, endpoint, monkeypatch) -> CSVRowPlan:
    """The plan a download of the endpoint's CSV made."""
    planned = []
    plan = CSVRowPlan.plan.__func__  # type: ignore[attr-defined]  # the classmethod's function

    def spy(cls, *args, **kwargs):
        planned.append(plan(cls, *args, **kwargs))
        return planned[-1]

    with monkeypatch.context() as patch:
        patch.setattr(CSVRowPlan, "plan", classmethod(spy))
        assert client.get(endpoint.list_url(), {"format": "csv"}).status_code == 200
    assert planned and planned[-1] is not None
    return planned[-1]


def _serializer(endpoint, monkeypatch):
    """The endpoint's list serializer, as its CSV download makes it."""
    from migrationsupport.api.viewsets import PublishableViewSet

    made = []
    get_serializer = PublishableViewSet.get_serializer

    def spy(self, *args, **kwargs):
        made.append(get_serializer(self, *args, **kwargs))
        return made[-1]

    with monkeypatch.context() as patch:
        patch.setattr(PublishableViewSet, "get_serializer", spy)
        assert APIClient().get(endpoint.list_url(), {"format": "csv"}).status_code == 200
    return made[-1]


@pytest.mark.parametrize("who", ["public", "staff"])
def test_the_funding_csv_reads_plain_rows_not_records(api, staff_client, dataset, monkeypatch, who):
    # Its properties and method fields say the columns they read (reads_columns): no model
    # instance per row. A property or method field added without it would bring them back.
    endpoint = ENDPOINTS["funding"]
    client = api if who == "public" else staff_client(endpoint.perm("view"))
    plan = _planned(client, endpoint, monkeypatch)
    assert not plan.reads_record and not plan.joined
    assert plan.columns[0] == "pk" and "amount_display" not in plan.columns


def _marked_getters(monkeypatch):
    """Every property of an API model and every method field of an API serializer that says
    the columns it reads (``reads_columns``)."""
    for endpoint in ENDPOINTS.values():
        for name in dir(endpoint.model):
            getter = getattr(getattr(endpoint.model, name, None), "fget", None)
            if getter is not None and hasattr(getter, "reads_columns"):
                yield endpoint, name, lambda record, name=name: getattr(record, name), getter
        serializer = _serializer(endpoint, monkeypatch)
        for name, field in serializer.fields.items():
            method = getattr(serializer, getattr(field, "method_name", None) or "-", None)
            if method is not None and hasattr(method, "reads_columns"):
                yield endpoint, name, method, method


def test_every_getter_marked_reads_columns_reads_nothing_else(dataset, monkeypatch):
    # Called with an object holding just the columns it names, each gives what it gives the
    # record: a column it reads without naming it fails here (AttributeError), not in a download.
    marked = list(_marked_getters(monkeypatch))
    assert {name for _, name, _, _ in marked} >= {
        "amount_display",
        "period_display",
        "period_kind",
        "dac_purpose_name",
        "currency",
        "follow_through_url",
    }
    for endpoint, name, on_record, getter in marked:
        columns = collections.namedtuple("Columns", getter.reads_columns)
        records = list(endpoint.model.objects.all())
        assert records, endpoint
        for record in records:
            just_columns = columns(*(getattr(record, column) for column in getter.reads_columns))
            assert getter(just_columns) == on_record(record), (endpoint.path, name, record.pk)


def test_cells_written_once_stay_the_serializers_when_the_memory_starts_again(api, dataset, monkeypatch):
    # Recurring values (choices, amounts, periods) are written once and kept, up to _MEMO of
    # them: kept or forgotten, each cell is the serializer's.
    for n, amount in enumerate(["10.00", "10.00", "2500000.00", None, "10.00", "0.50"]):
        FundingRecordFactory(
            slug=f"memo-{n}",
            amount=None if amount is None else Decimal(amount),
            measure="" if amount is None else ("pledged", "paid")[n % 2],
            qualifier=("exact", "about", "more_than")[n % 3],
            period_start=datetime.date(2020 + n % 2, 1, 1),
            period_start_precision="year",
        )
    monkeypatch.setattr("migrationsupport.api.csv_rows._MEMO", 2)
    endpoint = ENDPOINTS["funding"]
    fast = _csv(api, endpoint, fast=True, monkeypatch=monkeypatch)
    assert fast == _csv(api, endpoint, fast=False, monkeypatch=monkeypatch)
    assert b"memo-5" in fast


def test_a_decimal_cell_is_kept_by_value_only_when_its_places_are_fixed():
    # 1.0 and 1.00 are equal (one key): kept only when the field writes both alike.
    plan = CSVRowPlan(model=FundingRecordFactory._meta.model, show_drafts=False)
    two_places = plan._value(serializers.DecimalField(max_digits=None, decimal_places=2), 0)
    assert [two_places((Decimal(v),), {}, None) for v in ("1.0", "1.00", "1")] == ["1.00"] * 3
    as_stored = serializers.DecimalField(max_digits=None, decimal_places=None)
    read = plan._value(as_stored, 0)
    assert [read((Decimal(v),), {}, None) for v in ("1.0", "1.00")] == ["1.0", "1.00"]


@pytest.mark.parametrize(
    "items",
    [["a", "b"], ["a", "=b"], ["-1", "b"], [1, 2], ["a", None, True], ["=x"], [], [Decimal("-1.5"), "@y"]],
)
def test_a_list_cell_is_its_items_cells_joined(items):
    assert list_cell(items) == safe_cell(join_list(cell(item) for item in items))
