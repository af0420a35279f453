"""The explorer's CSV (``funding_csv_rows``, plain values read a chunk at a time) writes, cell for
cell, what ``FUNDING_CSV_COLUMNS`` reads from each published record as the public pages show it
(``for_public()``: drafts among related records left out), byte for byte once written."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ObjectDoesNotExist

import migrationsupport.chunks
from funding.exports import (
    FUNDING_CSV_COLUMNS,
    FUNDING_CSV_DEPRECATED_COLUMNS,
    FUNDING_CSV_HEADER,
    funding_csv_rows,
)
from funding.models import FundingRecord
from migrationsupport.models import Status
from migrationsupport.spreadsheets import csv_lines
from tests.factories import (
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    SourceFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

DRAFT = Status.DRAFT
HOST = "http://testserver"


@pytest.fixture
def records():
    """Amounts with and without a figure, every qualifier and wording, partial dates of every
    precision, drafts among every kind of related record, formula-like text."""
    south = RegionFactory(slug="south", name="South")
    north = RegionFactory(slug="north", name="=North")
    hidden_region = RegionFactory(slug="hidden-region", status=DRAFT)
    turkiye, hidden_country = CountryFactory(iso_code="TR"), CountryFactory(iso_code="XX", status=DRAFT)
    borders, hidden_theme = ThemeFactory(slug="borders"), ThemeFactory(slug="hidden-theme", status=DRAFT)
    instrument, hidden_instrument = InstrumentFactory(slug="ipa"), InstrumentFactory(status=DRAFT)
    conference = PledgingConferenceFactory(slug="brussels")
    draft_source = SourceFactory(status=DRAFT, title="Draft source")
    whole = FundingRecordFactory(
        slug="whole",
        title="=1+2",
        implementer="-UNHCR",
        source_passage="@SUM(A1)",
        amount=Decimal("33000000000.00"),
        qualifier="more_than",
        wording="over",
        period_start=datetime.date(2021, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2024, 6, 1),
        period_end_precision="month",
        instrument=instrument,
        conference=conference,
        regions=[south, north, hidden_region],
        countries=[turkiye, hidden_country],
        themes=[borders, hidden_theme],
    )
    FundingRecordFactory(
        slug="part",
        parent=whole,
        amount=Decimal("2120000.50"),
        qualifier="about",
        period_start=datetime.date(2024, 3, 18),
        period_start_precision="day",
        period_end=datetime.date(2024, 3, 18),
        period_end_precision="day",
        instrument=hidden_instrument,
        source=draft_source,
        may_overlap=[whole],
    )
    hidden_whole = FundingRecordFactory(slug="hidden-whole", status=DRAFT)
    FundingRecordFactory(
        slug="orphan", parent=hidden_whole, amount=None, measure="", may_overlap=[hidden_whole]
    )
    FundingRecordFactory(
        slug="two-years",
        amount=Decimal("12.5"),
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2025, 1, 1),
        period_end_precision="year",
        themes=[hidden_theme],
    )
    FundingRecordFactory(slug="no-period", period_start=None, period_end=None, amount=Decimal(300_000))
    FundingRecordFactory(slug="draft", status=DRAFT, regions=[south])


def _to_one(record, name: str, *fields: str) -> list[str]:
    """The related record's fields, "" when it is missing or a draft (``for_public()`` dropped it)."""
    try:
        related = getattr(record, name)
    except ObjectDoesNotExist:
        related = None
    return [getattr(related, field) if related is not None else "" for field in fields]


def _reference_lines(queryset) -> list[str]:
    """The rows as ``FUNDING_CSV_COLUMNS`` reads them from ``for_public()`` records."""
    rows: list[list] = [FUNDING_CSV_HEADER]
    for record in queryset.for_public():
        (record.csv_instrument,) = _to_one(record, "instrument", "slug")
        (record.csv_conference,) = _to_one(record, "conference", "slug")
        (record.csv_parent,) = _to_one(record, "parent", "slug")
        record.csv_source_title, record.csv_source_url = _to_one(record, "source", "title", "url")
        record.csv_regions = [region.slug for region in record.regions.all()]
        record.csv_countries = [country.iso_code for country in record.countries.all()]
        record.csv_themes = [theme.slug for theme in record.themes.all()]
        record.csv_may_overlap = [other.slug for other in record.may_overlap.filter(status=Status.PUBLISHED)]
        url = HOST + record.get_absolute_url()
        rows.append(
            [
                *(value(record) for _, value in FUNDING_CSV_COLUMNS),
                url,
                *(value(record) for _, value in FUNDING_CSV_DEPRECATED_COLUMNS),
                url,
            ]
        )
    return list(csv_lines(rows))


@pytest.mark.parametrize("chunk", [2, 1000])
def test_csv_rows_are_the_columns_of_the_public_records(records, monkeypatch, chunk):
    monkeypatch.setattr(migrationsupport.chunks, "CSV_CHUNK", chunk)
    queryset = FundingRecord.objects.order_by("title", "pk")
    written = list(csv_lines(funding_csv_rows(queryset, absolute_url=lambda path: HOST + path)))
    expected = _reference_lines(queryset)
    assert "".join(written) == "".join(expected)
    body = "".join(written)
    assert "'=1+2" in body and "hidden" not in body and "Draft source" not in body
    assert body.count("\r\n") == 1 + FundingRecord.objects.published().count()


def test_csv_rows_without_server_side_cursors(records, monkeypatch):
    """Behind PgBouncer (no server-side cursor) the ids come first, then each chunk by id."""
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    monkeypatch.setattr(migrationsupport.chunks, "CSV_CHUNK", 2)
    queryset = FundingRecord.objects.order_by("title", "pk")
    written = "".join(csv_lines(funding_csv_rows(queryset, absolute_url=lambda path: HOST + path)))
    assert written == "".join(_reference_lines(queryset))


def test_the_download_writes_the_same_addresses_as_build_absolute_uri(client, records):
    body = client.get("/funding/export.csv").getvalue().decode()
    assert f",{HOST}{FundingRecord(slug='whole').get_absolute_url()}," in body
