"""The API's CSV lists: the fast rows (``CSVRowPlan``) are byte for byte what the serializer
writes, for every endpoint, for the public and for staff; and a download's queries grow with its
chunks of records, not with its rows."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

import migrationsupport.chunks
from migrationsupport.api.csv_rows import CSVRowPlan
from migrationsupport.models import Status
from tests.api.support import ENDPOINTS, route_figure
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FulfilmentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
    SourceFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

DRAFT = Status.DRAFT


@pytest.fixture
def dataset():
    """Records of every type with nesting, to-many relations, partial dates, drafts among the
    related records, a draft source and formula-like text."""
    draft_source = SourceFactory(status=DRAFT, slug="draft-source")
    south = RegionFactory(slug="south", name="=1+2 South")
    north_africa = RegionFactory(slug="north-africa", parent=south)
    hidden_region = RegionFactory(slug="hidden-region", status=DRAFT, parent=south)
    turkiye, hidden_country = CountryFactory(region=south), CountryFactory(status=DRAFT, region=hidden_region)
    borders, hidden_theme = ThemeFactory(slug="borders"), ThemeFactory(slug="hidden-theme", status=DRAFT)
    instrument = InstrumentFactory()
    instrument.regions.set([south, hidden_region])
    hidden_instrument = InstrumentFactory(status=DRAFT, source=draft_source)
    conference = PledgingConferenceFactory(date=datetime.date(2024, 5, 1), date_precision="month")
    conference.regions.set([north_africa, hidden_region])
    whole = FundingRecordFactory(
        slug="whole",
        title="=1+2",
        description="-3 and @SUM(A1)",
        amount=Decimal("33000000000.00"),
        qualifier="more_than",
        period_start=datetime.date(2021, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2024, 6, 1),
        period_end_precision="month",
        instrument=instrument,
        conference=conference,
        regions=[south, north_africa, hidden_region],
        countries=[turkiye, hidden_country],
        themes=[borders, hidden_theme],
    )
    FundingRecordFactory(slug="part", parent=whole, instrument=hidden_instrument, source=draft_source)
    FundingRecordFactory(slug="hidden-part", parent=whole, status=DRAFT)
    FundingRecordFactory(slug="overlapping", may_overlap=[whole], amount=None, measure="")
    FundingRecordFactory(slug="draft-record", status=DRAFT, regions=[south])
    # Follow-through: a pledge fulfilled by two commitments (one paid), by a draft commitment
    # through a published link, and by a published one through a draft link.
    pledge = FundingRecordFactory(slug="pledge", measure="pledged")
    paid = FundingRecordFactory(slug="paid-commitment")
    FulfilmentFactory(fulfilled=pledge, fulfilling=paid)
    FulfilmentFactory(fulfilled=pledge, fulfilling=FundingRecordFactory(slug="other-commitment"))
    FulfilmentFactory(fulfilled=paid, fulfilling=FundingRecordFactory(slug="payment", measure="paid"))
    FulfilmentFactory(
        fulfilled=pledge, fulfilling=FundingRecordFactory(slug="hidden-commitment", status=DRAFT)
    )
    FulfilmentFactory(fulfilled=pledge, fulfilling=FundingRecordFactory(slug="unlinked"), status=DRAFT)
    agreement = AgreementFactory(parties=[turkiye, hidden_country], region=south)
    agreement.themes.set([borders, hidden_theme])
    AgreementEventFactory(agreement=agreement)
    AgreementEventFactory(agreement=agreement, status=DRAFT)
    AgreementEventFactory(agreement=AgreementFactory(status=DRAFT))
    document = DocumentFactory(date=datetime.date(2016, 3, 1), date_precision="month", title="+Plan")
    document.regions.set([south, hidden_region])
    document.countries.set([turkiye, hidden_country])
    route = RouteFactory()
    route.regions.set([south, hidden_region])
    route.countries.set([turkiye])
    route_figure(route=route)
    route_figure(route=route, status=DRAFT)
    figure = PopulationFigureFactory(country=turkiye)
    figure.origins.set([turkiye, hidden_country])
    PopulationFigureFactory(country=hidden_country)
    return whole


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
