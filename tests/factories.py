"""factory_boy factories: published records by default, so tests state drafts explicitly."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path
from string import ascii_uppercase
from typing import cast

import factory
import pycountry

from agreements.models import Agreement, AgreementEvent, AgreementKind, Document, DocumentKind, EventKind
from funding.models import Fulfilment, FundingRecord, Instrument, PledgingConference
from migrationsupport.models import PageSection, Source, Status, Theme
from regions.models import Country, PopulationFigure, Region, Route, RouteFigure


class PublishedFactory(factory.django.DjangoModelFactory):
    status = Status.PUBLISHED

    class Meta:
        abstract = True


class SourceFactory(PublishedFactory):
    title = factory.Sequence(lambda n: f"Source {n}")
    slug = factory.Sequence(lambda n: f"source-{n}")
    publisher = "European Commission"
    url = factory.Sequence(lambda n: f"https://example.org/source-{n}")

    class Meta:
        model = Source


class ThemeFactory(PublishedFactory):
    name = factory.Sequence(lambda n: f"Theme {n}")
    slug = factory.Sequence(lambda n: f"theme-{n}")
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = Theme


class PageSectionFactory(PublishedFactory):
    slug = factory.Sequence(lambda n: f"section-{n}")
    title = factory.Sequence(lambda n: f"Section {n}")
    body = "<p>Text.</p>"
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = PageSection


class RegionFactory(PublishedFactory):
    name = factory.Sequence(lambda n: f"Region {n}")
    slug = factory.Sequence(lambda n: f"region-{n}")
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = Region


def _codes_named_in_tests() -> frozenset[str]:
    """The codes tests give countries by hand (``iso_code="TR"``, ``iso_code="XX"``)."""
    sources = (path.read_text(encoding="utf-8") for path in Path(__file__).parent.rglob("*.py"))
    return frozenset(code for text in sources for code in re.findall(r'iso_code="([A-Z]{2})"', text))


# The codes the factories give, in turn: two letters that are no country's in ISO 3166-1 (the
# seed's fixtures use real ones) and that no test names itself. A test
# that named one after its factories had taken it met a unique constraint, and one that used a
# fixed code as unknown ("ZZ") found it taken, whenever the sequence reached it (CI, 7 December).
_FREE_CODES = tuple(
    code
    for code in (first + second for first in ascii_uppercase for second in ascii_uppercase)
    if pycountry.countries.get(alpha_2=code) is None and code not in _codes_named_in_tests()
)


def _free_iso(n: int) -> str:
    """The n-th of ``_FREE_CODES``, or the next one no country has."""
    taken = set(Country._base_manager.values_list("iso_code", flat=True))
    size = len(_FREE_CODES)
    return next(_FREE_CODES[i % size] for i in range(n, n + size) if _FREE_CODES[i % size] not in taken)


def unused_iso() -> str:
    """A two-letter code no country has, for a test asking for an unknown one."""
    return _free_iso(0)


class CountryFactory(PublishedFactory):
    name = factory.Sequence(lambda n: f"Country {n}")
    iso_code = factory.Sequence(_free_iso)
    slug = factory.Sequence(lambda n: f"country-{n}")
    region = factory.SubFactory(RegionFactory)
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = Country


class RouteFactory(PublishedFactory):
    name = factory.Sequence(lambda n: f"Route {n}")
    slug = factory.Sequence(lambda n: f"route-{n}")
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = Route


class RouteFigureFactory(PublishedFactory):
    route = factory.SubFactory(RouteFactory)
    slug = factory.Sequence(lambda n: f"route-figure-{n}")
    label = "decrease of irregular border crossings"
    percent = Decimal("70.50")
    period = datetime.date(2024, 1, 1)
    period_precision = "year"
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = RouteFigure


class PopulationFigureFactory(PublishedFactory):
    slug = factory.Sequence(lambda n: f"population-{n}")
    country = factory.SubFactory(CountryFactory)
    group = "refugees"
    value = Decimal(1000)
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = PopulationFigure


class InstrumentFactory(PublishedFactory):
    name = factory.Sequence(lambda n: f"Instrument {n}")
    slug = factory.Sequence(lambda n: f"instrument-{n}")
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = Instrument


class PledgingConferenceFactory(PublishedFactory):
    name = factory.Sequence(lambda n: f"Conference {n}")
    slug = factory.Sequence(lambda n: f"conference-{n}")
    date = datetime.date(2024, 5, 27)
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = PledgingConference


class FundingRecordFactory(PublishedFactory):
    title = factory.Sequence(lambda n: f"Funding {n}")
    slug = factory.Sequence(lambda n: f"funding-{n}")
    amount = Decimal("1000000.00")
    measure = factory.Maybe("amount", yes_declaration="committed", no_declaration="")
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = FundingRecord
        skip_postgeneration_save = True

    @factory.post_generation
    def regions(self, create, extracted, **kwargs):
        if create and extracted:
            self.regions.set(extracted)

    @factory.post_generation
    def countries(self, create, extracted, **kwargs):
        if create and extracted:
            self.countries.set(extracted)

    @factory.post_generation
    def themes(self, create, extracted, **kwargs):
        if create and extracted:
            self.themes.set(extracted)

    @factory.post_generation
    def may_overlap(self, create, extracted, **kwargs):
        if create and extracted:
            self.may_overlap.set(extracted)


class FulfilmentFactory(PublishedFactory):
    """A commitment fulfilling a pledge, by default; pass ``fulfilled`` and ``fulfilling``."""

    fulfilled = factory.SubFactory(FundingRecordFactory, measure="pledged")
    fulfilling = factory.SubFactory(FundingRecordFactory, measure="committed")
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = Fulfilment


class AgreementFactory(PublishedFactory):
    title = factory.Sequence(lambda n: f"Agreement {n}")
    slug = factory.Sequence(lambda n: f"agreement-{n}")
    kind = AgreementKind.READMISSION
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = Agreement
        skip_postgeneration_save = True

    @factory.post_generation
    def parties(self, create, extracted, **kwargs):
        if create and extracted:
            self.parties.set(extracted)


class AgreementEventFactory(PublishedFactory):
    agreement = factory.SubFactory(AgreementFactory)
    kind = EventKind.SIGNED
    date = datetime.date(2022, 10, 1)
    date_precision = "month"
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = AgreementEvent


class DocumentFactory(PublishedFactory):
    title = factory.Sequence(lambda n: f"Document {n}")
    slug = factory.Sequence(lambda n: f"document-{n}")
    kind = DocumentKind.ACTION_PLAN
    source = factory.SubFactory(SourceFactory)

    class Meta:
        model = Document


# A value for each funding filter (``FundingFilter``), matched by ``funding_matching_every_filter``.
FUNDING_FILTER_VALUES = {
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


def funding_matching_every_filter(**fields) -> FundingRecord:
    """A whole ("whole") and its part, each matching every value of ``FUNDING_FILTER_VALUES`` but
    "part of" and "top-level only", which no record matches together; ``fields`` for both. The
    whole is returned."""
    region = RegionFactory(slug="r")
    links = {
        "regions": [region],
        "countries": [CountryFactory(region=region, iso_code="TR")],
        "themes": [ThemeFactory(slug="t")],
        "instrument": InstrumentFactory(slug="i"),
        "conference": PledgingConferenceFactory(slug="c"),
        "donor": "eu",
        "kind": "programme",
        "qualifier": "exact",
        "period_start": datetime.date(2024, 1, 1),
        "period_start_precision": "year",
        "period_end": datetime.date(2024, 1, 1),
        "period_end_precision": "year",
        **fields,
    }
    whole = cast(FundingRecord, FundingRecordFactory(slug="whole", **links))
    FundingRecordFactory(parent=whole, **links)
    return whole
