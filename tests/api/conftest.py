"""Fixtures for the REST API tests: clients (anonymous; staff by token, with or without model
permissions), a fresh cache per test (throttle counters live there), each endpoint in turn, and
a dataset of every record type with drafts among the related records."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from migrationsupport.models import Status
from tests.api.support import ENDPOINTS, Endpoint, route_figure
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

_users = itertools.count(1)
DRAFT = Status.DRAFT


@pytest.fixture(params=sorted(ENDPOINTS))
def endpoint(request) -> Endpoint:
    return ENDPOINTS[request.param]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached answers live in the cache: every test starts from none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_client(db, django_user_model):
    """``staff_client("funding.add_fundingrecord", ...)``: a staff account's token client."""

    def make(*perms: str, is_staff: bool = True) -> APIClient:
        user = django_user_model.objects.create_user(
            username=f"officer-{next(_users)}", password="not-used", is_staff=is_staff
        )
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client

    return make


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
