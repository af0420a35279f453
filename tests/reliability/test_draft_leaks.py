"""No draft reaches the public through a relation (issue 14, point 2).

Published records of every type are linked to drafts of every related type (their source, region,
country, instrument, conference, key area, parent, parts, figures, events, overlaps...). Every
text field of every draft carries a marker ("leakmark..."). Then every public answer is read (the
HTML pages, sitemaps, search, the explorer with each grouping and its CSV, every API list, detail
and CSV, the API totals with each grouping) and none may contain a marker, nor the draft
country's ISO code. A region filter must not reach a record through a draft sub-region.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import models
from rest_framework.test import APIClient

from agreements.models import AgreementKind, DocumentKind, EventKind
from funding import rollup
from funding.filters import FundingFilter
from funding.models import Donor, FundingFollowThroughStored, FundingRecord
from funding.selectors import GROUPINGS
from migrationsupport.models import PublishableModel, Status
from migrationsupport.urls import SITEMAPS
from regions.models import Country, Region, RouteFigure
from tests.api.support import API, ENDPOINTS
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FulfilmentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PageSectionFactory,
    PledgingConferenceFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
    SourceFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

MARK = "leakmark"
MARKER = re.compile(rf"{MARK}[a-z0-9]*", re.IGNORECASE)
DRAFT_ISO = "QZ"
DRAFT = Status.DRAFT
YEAR_2024 = {
    "period_start": datetime.date(2024, 1, 1),
    "period_start_precision": "year",
    "period_end": datetime.date(2024, 1, 1),
    "period_end_precision": "year",
}


def marked(kind: str, field: str) -> str:
    """One word, valid as a slug, found by search: ``leakmarkregionname``."""
    return f"{MARK}{kind}{field}"


def rich(kind: str, field: str) -> str:
    return f"<p>{marked(kind, field)}</p>"


@pytest.fixture
def world():
    """Drafts of every type, each text field marked, linked from published records of every type."""
    d_source = SourceFactory(
        status=DRAFT,
        title=marked("source", "title"),
        slug=marked("source", "slug"),
        publisher=marked("source", "publisher"),
        url=f"https://{marked('source', 'url')}.example.org/{marked('source', 'path')}",
    )
    SourceFactory(title="Published source")  # every published record below cites the draft

    def draft_region(kind: str, **kwargs) -> Region:
        return RegionFactory.create(
            status=DRAFT,
            name=marked(kind, "name"),
            slug=marked(kind, "slug"),
            summary=marked(kind, "summary"),
            body=rich(kind, "body"),
            source=d_source,
            **kwargs,
        )

    # The published tree: Western Balkans, a published sub-region, and a draft sub-region.
    parent = RegionFactory(slug="western-balkans", name="Western Balkans", source=d_source)
    sub = RegionFactory(slug="published-sub", name="Published sub", parent=parent, source=d_source)
    d_region = draft_region("region")
    d_sub = draft_region("subregion", parent=parent)
    d_parent = draft_region("parentregion")
    RegionFactory(slug="orphan", name="Orphan region", parent=d_parent, source=d_source)

    d_country = CountryFactory(
        status=DRAFT,
        name=marked("country", "name"),
        slug=marked("country", "slug"),
        iso_code=DRAFT_ISO,
        cooperation_note=rich("country", "note"),
        region=parent,
        source=d_source,
    )
    country = CountryFactory(name="Published country", iso_code="PC", region=sub, source=d_source)
    in_draft_region = CountryFactory(name="Country in a draft region", region=d_region, source=d_source)
    in_draft_sub = CountryFactory(name="Country in a draft sub-region", region=d_sub, source=d_source)

    d_theme = ThemeFactory(
        status=DRAFT,
        name=marked("theme", "name"),
        slug=marked("theme", "slug"),
        description=rich("theme", "description"),
        source=d_source,
    )
    theme = ThemeFactory(name="Published theme", source=d_source)
    PageSectionFactory(
        status=DRAFT,
        slug=marked("section", "slug"),
        title=marked("section", "title"),
        body=rich("section", "body"),
        source=d_source,
    )
    PageSectionFactory(slug="key-areas", title="Published section", source=d_source)

    d_instrument = InstrumentFactory(
        status=DRAFT,
        name=marked("instrument", "name"),
        short_name=marked("instrument", "short"),
        slug=marked("instrument", "slug"),
        description=rich("instrument", "description"),
        source=d_source,
    )
    d_instrument.regions.set([parent])
    instrument = InstrumentFactory(name="Published instrument", source=d_source)
    instrument.regions.set([parent, d_region, d_sub])
    d_conference = PledgingConferenceFactory(
        status=DRAFT,
        name=marked("conference", "name"),
        slug=marked("conference", "slug"),
        place=marked("conference", "place"),
        host=marked("conference", "host"),
        source=d_source,
    )
    conference = PledgingConferenceFactory(name="Published conference", source=d_source)
    conference.regions.set([parent, d_region])

    def draft_funding(kind: str, **kwargs) -> FundingRecord:
        return FundingRecordFactory.create(
            status=DRAFT,
            title=marked(kind, "title"),
            slug=marked(kind, "slug"),
            description=rich(kind, "description"),
            implementer=marked(kind, "implementer"),
            source_passage=marked(kind, "passage"),
            source=d_source,
            **kwargs,
        )

    d_whole = draft_funding("wholefunding", amount=Decimal(900_000_000), instrument=d_instrument)
    record = FundingRecordFactory(
        title="Published funding",
        slug="published-funding",
        amount=Decimal(100_000_000),
        source=d_source,
        source_passage="The published passage.",
        instrument=d_instrument,
        conference=d_conference,
        parent=d_whole,
        regions=[parent, d_region],
        countries=[country, d_country],
        themes=[theme, d_theme],
        **YEAR_2024,
    )
    d_overlap = draft_funding("overlapfunding", amount=Decimal(50_000_000), regions=[parent])
    record.may_overlap.set([d_overlap])
    draft_funding("partfunding", amount=Decimal(10_000_000), parent=record, regions=[parent])
    # A part without an instrument: grouped by instrument, it takes its whole's (a draft).
    FundingRecordFactory(
        title="Published part",
        slug="published-part",
        amount=Decimal(1_000_000),
        parent=record,
        source=d_source,
        regions=[parent],
        **YEAR_2024,
    )
    # A part of a draft whole that has a draft instrument, and a record of draft regions only.
    FundingRecordFactory(
        title="Part of a draft", slug="part-of-a-draft", parent=d_whole, source=d_source, **YEAR_2024
    )
    FundingRecordFactory(
        title="Draft regions only", slug="draft-regions-only", regions=[d_region], source=d_source
    )
    # Follow-through: a published pledge fulfilled by a draft commitment (through a published
    # link), by a published commitment through a draft link, and by a published payment through
    # a published link citing the draft source.
    pledge = FundingRecordFactory(
        title="Published pledge", slug="published-pledge", measure="pledged", source=d_source, **YEAR_2024
    )
    d_commitment = draft_funding("commitmentfunding", amount=Decimal(7_000_000), measure="committed")
    FulfilmentFactory(fulfilled=pledge, fulfilling=d_commitment, source=d_source)
    FulfilmentFactory(
        fulfilled=pledge,
        fulfilling=FundingRecordFactory(
            title="Published commitment", slug="published-commitment", measure="committed", source=d_source
        ),
        status=DRAFT,
        source_passage=marked("link", "passage"),
    )
    FulfilmentFactory(
        fulfilled=pledge,
        fulfilling=FundingRecordFactory(
            title="Published payment", slug="published-payment", measure="paid", source=d_source
        ),
        source=d_source,
        source_passage="The published link's passage.",
    )

    d_route = RouteFactory(
        status=DRAFT,
        name=marked("route", "name"),
        slug=marked("route", "slug"),
        description=rich("route", "description"),
        source=d_source,
    )
    route = RouteFactory(name="Published route", slug="published-route", source=d_source)
    route.regions.set([parent, d_region])
    route.countries.set([country, d_country])
    RouteFigure.objects.create(
        route=route,
        status=DRAFT,
        slug=marked("routefigure", "slug"),
        label=marked("routefigure", "label"),
        percent=Decimal(70),
        period=datetime.date(2024, 1, 1),
        period_precision="year",
        source=d_source,
    )
    for on_route, slug in ((route, "published-figure"), (d_route, "figure-of-a-draft-route")):
        RouteFigure.objects.create(
            route=on_route,
            status=Status.PUBLISHED,
            slug=slug,
            label="decrease",
            percent=Decimal(50),
            period=datetime.date(2024, 1, 1),
            period_precision="year",
            source=d_source,
        )

    PopulationFigureFactory(
        status=DRAFT,
        slug=marked("population", "slug"),
        group=marked("population", "group"),
        description=rich("population", "description"),
        country=country,
        source=d_source,
    )
    PopulationFigureFactory(slug="published-population", country=country, source=d_source).origins.set(
        [d_country, in_draft_region]
    )
    PopulationFigureFactory(slug="hosted-by-a-draft", country=d_country, source=d_source)

    agreement = AgreementFactory(
        title="Published agreement",
        slug="published-agreement",
        parties=[country, d_country],
        region=d_region,
        source=d_source,
    )
    agreement.themes.set([theme, d_theme])
    AgreementEventFactory(
        agreement=agreement,
        status=DRAFT,
        description=marked("event", "description"),
        official_reference=marked("event", "official_reference"),  # the format is not checked here
        transition_note=marked("event", "transition_note"),
        source=d_source,
    )
    AgreementEventFactory(agreement=agreement, source=d_source, kind=EventKind.ENTERED_INTO_FORCE)
    AgreementFactory(
        title="Regional arrangement", slug="regional-arrangement", region=d_region, source=d_source
    )
    d_agreement = AgreementFactory(
        status=DRAFT,
        title=marked("agreement", "title"),
        slug=marked("agreement", "slug"),
        kind=AgreementKind.STATEMENT,
        description=rich("agreement", "description"),
        source=d_source,
    )
    AgreementEventFactory(agreement=d_agreement, source=d_source)

    DocumentFactory(
        status=DRAFT,
        title=marked("document", "title"),
        slug=marked("document", "slug"),
        author=marked("document", "author"),
        summary=rich("document", "summary"),
        url=f"https://{marked('document', 'url')}.example.org/",
        source=d_source,
    )
    document = DocumentFactory(
        title="Published document",
        slug="published-document",
        kind=DocumentKind.COMMUNICATION,
        source=d_source,
    )
    document.regions.set([parent, d_region])
    document.countries.set([country, d_country])
    document.routes.set([d_route])
    document.themes.set([theme, d_theme])

    return {"parent": parent, "d_sub": d_sub, "in_draft_sub": in_draft_sub, "d_country": d_country}


def draft_texts() -> list[str]:
    """Every marked text of the drafts, checked to be in the database (a typo would hide a leak)."""
    texts = set()
    for model in apps.get_models():
        if not issubclass(model, PublishableModel):
            continue
        for row in model.objects.filter(status=DRAFT).values():
            texts |= {
                m.lower() for value in row.values() if isinstance(value, str) for m in MARKER.findall(value)
            }
    return sorted(texts)


def leaks_in_text(text: str) -> list[str]:
    found = MARKER.findall(text)
    if f"/countries/{DRAFT_ISO.lower()}/" in text.lower() or re.search(rf"\b{DRAFT_ISO}\b", text):
        found.append(DRAFT_ISO)
    return found


def leaks_in_json(value) -> list[str]:
    if isinstance(value, dict):
        return [leak for item in value.values() for leak in leaks_in_json(item)]
    if isinstance(value, list):
        return [leak for item in value for leak in leaks_in_json(item)]
    if isinstance(value, str):
        return MARKER.findall(value) + ([DRAFT_ISO] if value.upper() == DRAFT_ISO else [])
    return []


def leaks_in_csv(body: str) -> list[str]:
    found = []
    for row in csv.reader(io.StringIO(body)):
        for cell in row:
            found += MARKER.findall(cell)
            found += [DRAFT_ISO for part in cell.split(";") if part.strip().upper() == DRAFT_ISO]
    return found


def public_paths() -> list[str]:
    """Every page of a published record (from its ``get_absolute_url``), the lists and the sitemaps."""
    paths = {
        "/",
        "/regions/",
        "/countries/",
        "/funding/",
        "/funding-figures/",
        "/instruments/",
        "/routes/",
        "/conferences/",
        "/donors/",
        *(f"/donors/{donor}/" for donor in Donor.values),
        "/agreements/",
        "/agreements/timeline/",
        "/documents/",
        "/themes/",
        "/sitemap.xml",
        *(f"/sitemap-{section}.xml" for section in SITEMAPS),
        *(f"/funding/?group={group}" for group in ("region", "instrument")),
        "/funding/?region=western-balkans&group=instrument",
        "/countries/?region=western-balkans",
        "/agreements/?region=western-balkans",
        "/agreements/timeline/?region=western-balkans",
        "/documents/?region=western-balkans",
        "/changes/",
        "/changes/feed/",
        "/funding/iati-activities.xml",
        "/data/catalogue.ttl",
    }
    for model in apps.get_models():
        if not issubclass(model, PublishableModel):
            continue
        for obj in model.objects.published():
            if obj.page_owner is not None and not obj.page_owner.is_published:
                continue  # shown on its owner's page, a draft: a 404 like any draft's page
            path = urlsplit(obj.get_absolute_url())
            if not path.netloc:  # a source's page is elsewhere
                paths.add(path.path)
    return sorted(paths)


def search_queries() -> list[str]:
    # The words of the published records (their summaries follow relations), and every marker.
    return ["published", "region", "country", "funding", "agreement", "theme", *draft_texts()]


def test_the_drafts_are_marked(world):
    """Guards the test itself: drafts of every publishable type, each text field marked."""
    unmarked = []
    draft_types = set()
    for model in apps.get_models():
        if not issubclass(model, PublishableModel):
            continue
        texts = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField)
            and not field.choices
            and field.name != "iso_code"  # DRAFT_ISO, looked for on its own
            # Values of published code lists (OECD DAC, IATI organisations): no draft's words.
            and field.name not in ("dac_purpose_code", "donor_iati_identifier")
        ]
        for obj in model.objects.filter(status=DRAFT):
            draft_types.add(model)
            unmarked += [f"{model.__name__}.{name}" for name in texts if MARK not in getattr(obj, name)]
    assert not unmarked
    assert draft_types == {model for model in apps.get_models() if issubclass(model, PublishableModel)}, (
        "a publishable type without a draft"
    )
    assert len(draft_texts()) > 50


@pytest.mark.parametrize("stored", [False, True], ids=["computed", "stored"])
def test_no_page_shows_a_draft(client, world, stored, monkeypatch):
    """Computed, and with every set's totals and every donor's follow-through stored
    (funding.rollup, however small), as the large ones are."""
    if stored:
        monkeypatch.setattr(rollup, "LARGE_SET", 1)
        assert rollup.rebuild(force=True)
        assert FundingFollowThroughStored.objects.exists()
    leaks = {}
    for path in public_paths():
        response = client.get(path)
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        found = leaks_in_text(body.decode())
        if found:
            leaks[path] = sorted(set(found))
    assert not leaks


def test_the_data_package_holds_no_draft(client, world):
    response = client.get("/data/eu-migration-support-datapackage.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as package:
        names = package.namelist()
        assert len(names) > 10  # one CSV per record type and relation, and datapackage.json
        leaks = {name: found for name in names if (found := leaks_in_text(package.read(name).decode()))}
    assert not leaks


def test_no_search_result_shows_a_draft(client, world):
    leaks = {}
    for query in search_queries():
        response = client.get("/search/", {"q": query})
        assert response.status_code == 200
        # The page repeats the query; nothing else may name a draft.
        found = leaks_in_text(response.content.decode().replace(query, ""))
        if found:
            leaks[query] = sorted(set(found))
    assert not leaks


def test_no_csv_export_shows_a_draft(client, world):
    for path in ("/funding/export.csv", "/funding/export.csv?region=western-balkans"):
        response = client.get(path)
        assert response.status_code == 200
        body = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
        assert "published-funding" in body
        assert not leaks_in_csv(body), path


def test_the_explorers_totals_csv_shows_no_draft_even_to_staff(client, admin_client, world):
    # The page's CSV of its grouped totals: the public's records and names for everyone (the
    # API's totals show drafts to staff who may see them).
    for who in (client, admin_client):
        for path in ("/funding/totals.csv", "/funding/totals.csv?group=instrument&region=western-balkans"):
            response = who.get(path)
            assert response.status_code == 200
            assert not leaks_in_csv(response.content.decode()), path


def _api_get(api: APIClient, url: str, **params):
    cache.clear()  # the anonymous throttle's counters
    response = api.get(url, params)
    assert response.status_code == 200, (url, params, response.content[:500])
    return response


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_no_api_answer_shows_a_draft(world, name):
    api = APIClient()
    endpoint = ENDPOINTS[name]
    listing = _api_get(api, endpoint.list_url(), page_size=1000).json()
    assert listing["results"], name
    leaks = {"list": leaks_in_json(listing)}
    leaks["csv"] = leaks_in_csv(_api_get(api, endpoint.list_url(), format="csv").getvalue().decode())
    for row in listing["results"]:
        key = row["id"] if endpoint.lookup == "pk" else row[endpoint.lookup]
        leaks[str(key)] = leaks_in_json(_api_get(api, f"{API}/{endpoint.path}/{key}/").json())
    assert not {where: found for where, found in leaks.items() if found}


@pytest.mark.parametrize("stored", [False, True], ids=["computed", "stored"])
@pytest.mark.parametrize("group_by", [None, *GROUPINGS])
def test_no_api_total_names_a_draft(world, group_by, stored, monkeypatch):
    """Computed, and read from the stored totals (funding.rollup: every set one filter selects
    stored, however small, as the explorer's and the API's large ones are)."""
    if stored:
        monkeypatch.setattr(rollup, "LARGE_SET", 1)
        assert rollup.rebuild(force=True)
        assert len(list(rollup.registry())) > 5
    api = APIClient()
    params = {"group_by": group_by} if group_by else {}
    filtered = {"region": "western-balkans", **params}
    for query in (params, filtered):
        answer = _api_get(api, f"{API}/funding/totals/", **query).json()
        assert answer["totals"]
        assert not leaks_in_json(answer)
        as_csv = _api_get(api, f"{API}/funding/totals/", format="csv", **query).content.decode()
        assert not leaks_in_csv(as_csv)
    if stored:
        published = FundingRecord.objects.published()
        assert rollup.stored_rows(group_by, published) is not None
        assert rollup.stored_rows(group_by, FundingFilter(filtered, queryset=published).qs) is not None


def test_the_api_root_and_the_filters_name_no_draft(world):
    api = APIClient()
    assert not leaks_in_json(_api_get(api, f"{API}/").json())
    # The filters' choices are published records only: a draft's slug is refused like a typo.
    cache.clear()
    assert api.get(f"{API}/funding/", {"region": marked("region", "slug")}).status_code == 400


# --- A region's filter includes only its published sub-regions -----------------------------


@pytest.fixture
def linked_only_to_a_draft_subregion(world):
    """One record of each filtered type linked to the Western Balkans only through its draft sub-region
    (or through a draft country of the Western Balkans, for an agreement)."""
    d_sub, in_draft_sub = world["d_sub"], world["in_draft_sub"]
    FundingRecordFactory(title="Hidden funding", slug="hidden-funding", regions=[d_sub])
    InstrumentFactory(name="Hidden instrument", slug="hidden-instrument").regions.set([d_sub])
    PledgingConferenceFactory(name="Hidden conference", slug="hidden-conference").regions.set([d_sub])
    DocumentFactory(title="Hidden document", slug="hidden-document").regions.set([d_sub])
    RouteFactory(name="Hidden route", slug="hidden-route").regions.set([d_sub])
    AgreementFactory(title="Hidden agreement", slug="hidden-agreement", parties=[in_draft_sub])
    AgreementFactory(title="Hidden through a draft party", slug="hidden-party", parties=[world["d_country"]])
    AgreementFactory(title="Hidden regional", slug="hidden-regional", region=d_sub)
    return world


@pytest.mark.parametrize(
    ("path", "visible"),
    [
        ("funding", "published-funding"),
        ("instruments", None),
        ("conferences", None),
        ("documents", "published-document"),
        ("routes", "published-route"),
        ("agreements", None),
        ("countries", "PC"),
    ],
)
def test_a_region_filter_skips_draft_subregions_in_the_api(linked_only_to_a_draft_subregion, path, visible):
    api = APIClient()
    rows = _api_get(api, f"{API}/{path}/", region="western-balkans", page_size=1000).json()["results"]
    keys = {row["iso_code"] if path == "countries" else row["slug"] for row in rows}
    assert not {key for key in keys if key.startswith("hidden")}, keys
    assert Country.objects.get(name="Country in a draft sub-region").iso_code not in keys
    if visible:
        assert visible in keys


@pytest.mark.parametrize(
    ("path", "visible"),
    [
        ("/funding/", "/funding/published-funding/"),
        ("/funding/export.csv", "/funding/published-funding/"),
        ("/documents/", "/documents/published-document/"),
        ("/agreements/", None),
        ("/agreements/timeline/", None),
        ("/countries/", "/countries/pc/"),
    ],
)
def test_a_region_filter_skips_draft_subregions_on_pages(
    client, linked_only_to_a_draft_subregion, path, visible
):
    response = client.get(path, {"region": "western-balkans"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    # Links to the records listed (the filter form's options name every published record).
    listed = set(re.findall(r"/(?:funding|documents|agreements|countries)/[a-z0-9-]+/", body))
    in_draft_sub = f"/countries/{linked_only_to_a_draft_subregion['in_draft_sub'].iso_code.lower()}/"
    assert not {link for link in listed if "/hidden-" in link or link == in_draft_sub}, path
    if visible:
        assert visible in listed


def test_a_region_filter_still_includes_published_subregions(client, world):
    FundingRecordFactory(
        title="Sub-region funding",
        slug="sub-region-funding",
        regions=[Region.objects.get(slug="published-sub")],
    )
    assert "Sub-region funding" in client.get("/funding/", {"region": "western-balkans"}).content.decode()
    cache.clear()
    rows = APIClient().get(f"{API}/funding/", {"region": "western-balkans"}).json()["results"]
    assert "sub-region-funding" in {row["slug"] for row in rows}
