"""The IATI 2.03 export: valid against the official schema (vendored in funding/standards), with
nesting, measures, recipients, sectors, sources and qualifiers as docs/open-data.md says."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import etree

from funding.iati import iati_activities_xml
from funding.models import FundingRecord
from migrationsupport.models import Status
from tests.factories import CountryFactory, FundingRecordFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db

SCHEMA_FILE = (
    Path(__file__).resolve().parents[2]
    / "funding"
    / "standards"
    / "schema-2.03"
    / "iati-activities-schema.xsd"
)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


def assert_valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    document = etree.fromstring(xml)
    assert schema.validate(document), "\n".join(str(e) for e in schema.error_log)
    return document


def build(records=None) -> bytes:
    queryset = FundingRecord.objects.all() if records is None else records
    return b"".join(iati_activities_xml(queryset, absolute_url=lambda path: f"https://example.test{path}"))


def activity(document: etree._Element, slug: str) -> etree._Element:
    found = document.xpath(f"iati-activity[iati-identifier='XI-IATI-EC_NEAR-{slug}']")
    assert len(found) == 1, slug
    return found[0]


@pytest.fixture
def nested():
    """A "more than" commitment since 2021 with a €60 million package for four countries in 2024,
    itself made of a €47 million part; a pledge for 2024 and 2025; a mobilised total; an undated
    figure; a draft."""
    balkans = RegionFactory(slug="western-balkans", name="Western Balkans")
    countries = [CountryFactory(iso_code=code) for code in ("BA", "ME", "MK", "RS")]
    migration = ThemeFactory(slug="migration-management", name="Migration management")
    since = FundingRecordFactory(
        slug="since-2021",
        amount=Decimal("350000000"),
        qualifier="more_than",
        period_start=datetime.date(2021, 1, 1),
        period_start_precision="year",
        regions=[balkans],
        themes=[migration],
        dac_purpose_code="15190",
        source_passage="more than €350 million",
        description="<p>Border management &amp; returns</p>",
    )
    package = FundingRecordFactory(
        slug="package-2024",
        amount=Decimal("60000000"),
        parent=since,
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2024, 1, 1),
        period_end_precision="year",
        countries=countries,
    )
    FundingRecordFactory(
        slug="part-47",
        amount=Decimal("47000000"),
        parent=package,
        period_start=datetime.date(2023, 6, 1),
        period_start_precision="month",
        period_end=datetime.date(2023, 6, 1),
        period_end_precision="month",
        countries=countries[:1],
        implementer="Frontex",
    )
    FundingRecordFactory(
        slug="pledge-2024-2025",
        amount=Decimal("2120000000"),
        measure="pledged",
        donor="european_commission",
        donor_iati_identifier="XI-IATI-EC_NEAR",
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2025, 1, 1),
        period_end_precision="year",
    )
    FundingRecordFactory(
        slug="mobilised-since-2011",
        amount=Decimal("33000000000"),
        qualifier="more_than",
        measure="mobilised",
        donor="eu_and_member_states",
        period_start=datetime.date(2011, 1, 1),
        period_start_precision="year",
    )
    FundingRecordFactory(slug="undated", amount=Decimal("900000000"), qualifier="about", wording="close to")
    FundingRecordFactory(
        slug="draft",
        status=Status.DRAFT,
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
    )


def test_the_export_is_valid_iati_2_03(schema, nested):
    document = assert_valid(schema, build())
    assert document.get("version") == "2.03"
    slugs = [e.text.removeprefix("XI-IATI-EC_NEAR-") for e in document.iter("iati-identifier")]
    # Published and dated only: IATI requires an activity date (the undated one is in the CSV).
    assert sorted(slugs) == [
        "mobilised-since-2011",
        "package-2024",
        "part-47",
        "pledge-2024-2025",
        "since-2021",
    ]


def test_nesting_is_related_activities_and_hierarchy(schema, nested):
    document = assert_valid(schema, build())
    since, package, part = (activity(document, s) for s in ("since-2021", "package-2024", "part-47"))
    assert [since.get("hierarchy"), package.get("hierarchy"), part.get("hierarchy")] == ["1", "2", "3"]
    assert [(r.get("type"), r.get("ref")) for r in package.iter("related-activity")] == [
        ("1", "XI-IATI-EC_NEAR-since-2021"),
        ("2", "XI-IATI-EC_NEAR-part-47"),
    ]
    assert [(r.get("type"), r.get("ref")) for r in since.iter("related-activity")] == [
        ("2", "XI-IATI-EC_NEAR-package-2024")
    ]


def test_measures_become_transaction_types_and_qualifiers_stay_in_narratives(schema, nested):
    document = assert_valid(schema, build())

    def transactions(slug):
        return [
            (
                t.find("transaction-type").get("code"),
                t.find("value").text,
                t.findtext("description/narrative"),
            )
            for t in activity(document, slug).iter("transaction")
        ]

    assert transactions("since-2021") == [("2", "350000000.00", "more than €350\u00a0million, since 2021")]
    assert transactions("pledge-2024-2025") == [
        ("12", "2120000000.00", "€2.12\u00a0billion, for 2024 and 2025")
    ]
    # Mobilised by several donors: no IATI transaction type; the amount is in the description.
    assert transactions("mobilised-since-2011") == []
    since = activity(document, "since-2021")
    assert [d.findtext("narrative") for d in since.iter("description")][:2] == [
        "more than €350\u00a0million, since 2021",
        "Border management & returns",  # the text of the HTML, not its markup
    ]
    mobilised = activity(document, "mobilised-since-2011")
    assert mobilised.findtext("description/narrative") == "more than €33\u00a0billion, since 2011"


def test_dates_keep_their_precision_in_narratives(schema, nested):
    document = assert_valid(schema, build())
    pledge = activity(document, "pledge-2024-2025")
    assert [(d.get("iso-date"), d.findtext("narrative")) for d in pledge.iter("activity-date")] == [
        ("2024-01-01", "2024"),
        ("2025-12-31", "2025"),
    ]
    # A point ("launched in June 2023") is a start only.
    part = activity(document, "part-47")
    assert [
        (d.get("type"), d.get("iso-date"), d.findtext("narrative")) for d in part.iter("activity-date")
    ] == [("2", "2023-06-01", "June 2023")]


def test_recipients_have_shares_only_where_stated_and_sectors_their_codes(schema, nested):
    document = assert_valid(schema, build())
    package = activity(document, "package-2024")
    assert [(c.get("code"), c.get("percentage")) for c in package.iter("recipient-country")] == [
        ("BA", None),
        ("ME", None),
        ("MK", None),
        ("RS", None),
    ]
    part = activity(document, "part-47")
    assert [(c.get("code"), c.get("percentage")) for c in part.iter("recipient-country")] == [("BA", "100")]
    since = activity(document, "since-2021")
    region = since.find("recipient-region")
    assert (region.get("code"), region.get("vocabulary"), region.get("percentage")) == (
        "western-balkans",
        "99",
        "100",
    )
    assert [(s.get("vocabulary"), s.get("code")) for s in since.iter("sector")] == [
        ("1", "15190"),
        ("99", "migration-management"),
    ]
    assert [o.get("ref") for o in activity(document, "pledge-2024-2025").iter("participating-org")] == [
        "XI-IATI-EC_NEAR"
    ]
    assert [(o.get("role"), o.findtext("narrative")) for o in part.iter("participating-org")][-1] == (
        "4",
        "Frontex",
    )
    link = since.find("document-link")
    assert link.findtext("description/narrative") == "more than €350 million"
    assert link.find("category").get("code") == "A12"


def test_an_invalid_document_fails_the_schema(schema, nested):
    document = etree.fromstring(build())
    first = document.find("iati-activity")
    first.remove(first.find("reporting-org"))
    assert not schema.validate(document)
    document = etree.fromstring(build())
    document.find("iati-activity/transaction/transaction-date").set("iso-date", "2024")  # a partial date
    assert not schema.validate(document)


def test_the_api_and_the_bulk_file_serve_it(schema, nested, client):
    response = client.get("/api/v1/funding/", {"format": "iati", "country": "BIH"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    document = assert_valid(schema, b"".join(response.streaming_content))
    assert sorted(e.text for e in document.iter("iati-identifier")) == [
        "XI-IATI-EC_NEAR-package-2024",
        "XI-IATI-EC_NEAR-part-47",
    ]
    bulk = client.get("/funding/iati-activities.xml")
    assert bulk.status_code == 200
    assert len(assert_valid(schema, b"".join(bulk.streaming_content))) == 5
    error = client.get("/api/v1/funding/", {"format": "iati", "country": "nowhere"})
    assert error.status_code == 400
    assert "country" in error.json()


def test_the_export_makes_the_same_queries_whatever_the_number_of_records(nested):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            build()
        return len(captured)

    few = queries()
    for n in range(20):
        FundingRecordFactory(
            slug=f"more-{n}",
            period_start=datetime.date(2020, 1, 1),
            period_start_precision="year",
            countries=[CountryFactory()],
            themes=[ThemeFactory()],
        )
    # The records and then, per chunk, one query per to-many relation (countries, regions and
    # their names, key areas and their names, parts).
    assert queries() == few == 7


def test_the_seed_exports_valid_iati(schema):
    call_command(
        "loaddata",
        *sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "fixtures").glob("*.json")),
        verbosity=0,
    )
    document = assert_valid(schema, build())
    assert (
        len(document) == FundingRecord.objects.published().exclude(period_start=None, period_end=None).count()
    )
