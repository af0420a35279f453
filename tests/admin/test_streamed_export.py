"""The officers' CSV export streams: the same header and cells as django-import-export's own
export (``;`` lists, formula escaping, drafts included), and queries that do not grow with rows."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin import site
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

import migrationsupport.admin.import_export as import_export
from agreements.models import Agreement
from funding.models import FundingRecord
from migrationsupport.models import Status
from regions.models import Country
from tests.admin.test_import_export import export
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    FundingRecordFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    south, hidden = RegionFactory(slug="south"), RegionFactory(slug="hidden", status=Status.DRAFT)
    turkiye, draft_country = CountryFactory(region=south), CountryFactory(status=Status.DRAFT)
    theme = ThemeFactory(slug="borders")
    countries = [turkiye, draft_country]
    whole = FundingRecordFactory(
        slug="whole", title="=1+2", regions=[south, hidden], countries=countries, themes=[theme]
    )
    FundingRecordFactory(slug="part", parent=whole, status=Status.DRAFT, may_overlap=[whole])
    FundingRecordFactory(slug="plain")
    FundingRecordFactory(
        slug="dated",
        implementer="-UNHCR",
        source_passage="+1 more",
        amount=Decimal("2120000.50"),
        qualifier="about",
        period_start=datetime.date(2016, 3, 1),
        period_start_precision="month",
        period_end=datetime.date(2024, 3, 18),
        period_end_precision="day",
    )
    FundingRecordFactory(slug="no-figure", amount=None, period_start=None, period_end=None, version=7)
    agreement = AgreementFactory(parties=[turkiye, draft_country], region=hidden, title="@SUM(A1)")
    agreement.themes.set([theme])


@pytest.mark.parametrize("model", [FundingRecord, Agreement, Country])
def test_streamed_csv_export_is_django_import_exports(editor_client, records, model):
    response = export(editor_client, model)
    assert isinstance(response, StreamingHttpResponse)
    streamed = response.getvalue().decode().splitlines()
    resource = site._registry[model].resource_classes[0]()
    whole = resource.export(queryset=model.objects.all()).csv.splitlines()
    assert streamed[0] == whole[0]
    assert sorted(streamed[1:]) == sorted(whole[1:]) and len(streamed) > 1


def test_funding_records_are_exported_from_plain_values(editor_client, records, monkeypatch):
    """Every column of the funding export is a plain value, a related slug or a to-many list:
    the rows come from ``values_list()`` (no model instance, no ``export_field`` per cell), and
    they are the cells django-import-export writes (the test above)."""
    plain = []
    rows = import_export._plain_rows

    def spy(*args):
        plain.append(rows(*args))
        return plain[-1]

    monkeypatch.setattr(import_export, "_plain_rows", spy)
    body = export(editor_client, FundingRecord).getvalue().decode()
    assert plain and plain[0] is not None
    assert ",'-UNHCR," in body and ",'+1 more," in body and "2016-03-01,month,2024-03-18,day" in body


def test_streamed_csv_export_queries_do_not_grow_with_rows(editor_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert export(editor_client, FundingRecord).getvalue()  # streamed: rows read here
        return len(context.captured_queries)

    region = RegionFactory()
    for n in range(3):
        FundingRecordFactory(slug=f"few-{n}", regions=[region])
    few = queries()
    for n in range(20):
        FundingRecordFactory(slug=f"more-{n}", regions=[region])
    assert queries() == few
