"""Funding pages: the explorer (filters, totals, chart, CSV), records, instruments, conferences."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest

from funding.exports import FUNDING_CSV_HEADER
from migrationsupport.models import Status
from tests.factories import (
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    ThemeFactory,
)
from tests.pages import assert_accessible_structure, assert_constant_queries, text_of

pytestmark = pytest.mark.django_db

YEAR = "year"


def year(start: int, end: int | None = None) -> dict:
    period = {"period_start": datetime.date(start, 1, 1), "period_start_precision": YEAR}
    if end is not None:
        period |= {"period_end": datetime.date(end, 1, 1), "period_end_precision": YEAR}
    return period


@pytest.fixture
def balkans_and_syria():
    """The seed's nesting in small: 350m ⊃ 60m ⊃ 47m + 13m in one region, 33bn in another."""
    balkans = RegionFactory(name="Western Balkans", slug="western-balkans")
    syria = RegionFactory(name="Syria response", slug="syria-response")
    ipa = InstrumentFactory(name="Instrument for Pre-accession Assistance", short_name="IPA III", slug="ipa")
    serbia = CountryFactory(name="Serbia", iso_code="RS", region=balkans)
    returns = ThemeFactory(name="Returns", slug="returns")
    total = FundingRecordFactory(
        title="Western Balkans since 2021",
        slug="wb-total",
        amount=Decimal(350_000_000),
        qualifier="more_than",
        instrument=ipa,
        regions=[balkans],
        **year(2021),
    )
    package = FundingRecordFactory(
        title="Package 2024",
        slug="wb-package",
        amount=Decimal(60_000_000),
        parent=total,
        regions=[balkans],
        countries=[serbia],
        **year(2024, 2024),
    )
    FundingRecordFactory(
        title="Governance",
        slug="wb-governance",
        amount=Decimal(47_000_000),
        parent=package,
        regions=[balkans],
        countries=[serbia],
        **year(2024, 2024),
    )
    FundingRecordFactory(
        title="Returns programme",
        slug="wb-returns",
        amount=Decimal(13_000_000),
        parent=package,
        regions=[balkans],
        countries=[serbia],
        themes=[returns],
        **year(2024, 2024),
    )
    FundingRecordFactory(
        title="Syria since 2011",
        slug="syria-total",
        amount=Decimal(33_000_000_000),
        qualifier="more_than",
        donor="eu_and_member_states",
        regions=[syria],
        **year(2011),
    )
    FundingRecordFactory(
        title="Draft millions",
        slug="draft-millions",
        amount=Decimal(999_000_000),
        regions=[balkans],
        status=Status.DRAFT,
        **year(2024),
    )
    return {"balkans": balkans, "syria": syria, "ipa": ipa, "package": package, "total": total}


def listed(response) -> list[str]:
    return [record.slug for record in response.context["page_obj"].object_list]


def totals_of(response) -> dict[str, Decimal]:
    """{donor: amount} of the page's totals (every fixture record is committed)."""
    return {t.donor: t.upper for t in response.context["totals"]}


def test_explorer_lists_published_records_and_totals_each_donor_once(client, balkans_and_syria):
    response = client.get("/funding/")

    assert response.status_code == 200
    assert set(listed(response)) == {"wb-total", "wb-package", "wb-governance", "wb-returns", "syria-total"}
    # The 60m package and its 47m + 13m parts are inside the 350m; the EU's 350m and the EU and
    # its Member States' 33bn are two totals, never one sum.
    assert totals_of(response) == {
        "eu": Decimal(350_000_000),
        "eu_and_member_states": Decimal(33_000_000_000),
    }
    assert response.context["nested"] == 3
    text = text_of(response)
    assert "Committed or allocated by the European Union: more than €350 million" in text
    assert "Committed or allocated by the EU and its Member States: more than €33 billion" in text
    assert "33.35" not in text
    assert_accessible_structure(response)


def test_explorer_says_when_no_amount_is_stated_never_zero(client, source):
    FundingRecordFactory(slug="no-figure", amount=None)
    response = client.get("/funding/")
    assert response.context["totals"] == []
    text = text_of(response)
    assert "No amount stated in the sources." in text
    assert "€0" not in text


def test_explorer_table_shows_measure_and_donor_and_the_passage(client, source):
    FundingRecordFactory(
        slug="pledge", measure="pledged", donor="european_commission", source_passage="€5 pledged"
    )
    text = text_of(client.get("/funding/"))
    assert "Pledged" in text and "European Commission" in text
    assert "€5 pledged" in text


@pytest.mark.parametrize(
    ("query", "expected", "total"),
    [
        ("region=western-balkans", {"wb-total", "wb-package", "wb-governance", "wb-returns"}, 350_000_000),
        ("region=syria-response", {"syria-total"}, 33_000_000_000),
        ("country=RS", {"wb-package", "wb-governance", "wb-returns"}, 60_000_000),
        ("instrument=ipa", {"wb-total"}, 350_000_000),
        ("theme=returns", {"wb-returns"}, 13_000_000),
        ("donor=eu_and_member_states", {"syria-total"}, 33_000_000_000),
        # A year holds only the figures whose period lies within it, never "since 2021".
        ("year=2024", {"wb-package", "wb-governance", "wb-returns"}, 60_000_000),
        ("year=2015", set(), None),
        # Ongoing periods ("since 2021") reach every later year of a year range.
        ("year_min=2015&year_max=2016", {"syria-total"}, 33_000_000_000),
        ("parent=wb-package", {"wb-governance", "wb-returns"}, 60_000_000),
        ("top_level=true", {"wb-total", "syria-total"}, 350_000_000),
        ("region=western-balkans&year_min=2022&year_max=2022", {"wb-total"}, 350_000_000),
    ],
)
def test_explorer_filters_change_rows_and_total(client, balkans_and_syria, query, expected, total):
    response = client.get(f"/funding/?{query}")

    assert response.status_code == 200
    assert set(listed(response)) == expected
    # The EU's total (the 33bn of the EU and its Member States is its own).
    assert totals_of(response).get("eu") == (Decimal(total) if total and total != 33_000_000_000 else None)


def test_explorer_total_says_more_than_only_when_a_part_is_a_lower_bound(client, balkans_and_syria):
    exact = client.get("/funding/?country=RS")
    assert [t.upper_qualifier for t in exact.context["totals"]] == ["exact"]
    assert "€60\u00a0million" in exact.content.decode()

    approximate = client.get("/funding/?region=western-balkans")
    assert [t.upper_qualifier for t in approximate.context["totals"]] == ["more_than"]
    assert "more than €350\u00a0million" in approximate.content.decode()


def test_explorer_shows_a_range_where_figures_may_overlap(client, balkans_and_syria):
    FundingRecordFactory(
        slug="anti-smuggling",
        amount=Decimal(36_000_000),
        regions=[balkans_and_syria["balkans"]],
        may_overlap=[balkans_and_syria["total"]],
    )
    response = client.get("/funding/?region=western-balkans")
    (total,) = response.context["totals"]
    assert (total.lower, total.upper) == (Decimal(350_000_000), Decimal(386_000_000))
    text = text_of(response)
    assert "more than €350 million; up to more than €386 million if the figures that may overlap" in text


def test_explorer_chart_groups_by_region_or_instrument_with_a_table_beside_it(client, balkans_and_syria):
    by_region = client.get("/funding/")
    labels = {g.label: g.upper for g in by_region.context["groups"]}
    assert labels == {"Western Balkans": Decimal(350_000_000), "Syria response": Decimal(33_000_000_000)}
    body = by_region.content.decode()
    # One chart per measure and donor: the EU's 350m and the 33bn never share a scale.
    assert '<figure class="chart" aria-labelledby="funding-chart-2-title">' in body
    assert (
        '<figcaption id="funding-chart-2-title" class="chart-title">'
        "Committed or allocated by the European Union, by region</figcaption>" in body
    )
    assert '<caption id="by-group-caption">Totals by region: the figures of the charts</caption>' in body
    charts = by_region.context["charts"]
    assert [[bar.width_percent for bar in item["chart"].bars] for item in charts] == [
        ["100.00%"],
        ["100.00%"],
    ]

    by_instrument = client.get("/funding/?group=instrument")
    assert {g.label for g in by_instrument.context["groups"]} == {"IPA III", "No instrument stated"}
    assert by_instrument.context["group"] == "instrument"
    # An unknown grouping falls back to regions rather than failing.
    assert client.get("/funding/?group=nonsense").context["group"] == "region"


def test_explorer_shows_the_largest_groups_and_adds_up_the_others_in_one_row(client, source):
    """Past nine stated groups of a measure and donor, the chart and the table show the eight
    largest and one row for the others (its sum follows the rules of any total); the records
    without a region keep their own row, however large; the CSV has every row."""
    qualifiers = {3: "more_than", 2: "almost"}
    for size in range(11, 0, -1):  # €110 million in Region 11 ... €10 million in Region 1
        FundingRecordFactory(
            title=f"Figure {size}",
            amount=size * Decimal(10_000_000),
            qualifier=qualifiers.get(size, "exact"),
            regions=[RegionFactory(name=f"Region {size}", slug=f"region-{size}")],
            source=source,
        )
    FundingRecordFactory(title="Anywhere", amount=Decimal(500_000_000), regions=[], source=source)

    response = client.get("/funding/?country=&group=region")

    groups = response.context["groups"]
    largest = [f"Region {size}" for size in range(11, 3, -1)]
    assert [g.label for g in groups] == [*largest, "3 others together", "No region stated"]
    others = groups[-2]
    assert (others.upper, others.records, others.upper_qualifier) == (Decimal(60_000_000), 3, "about")
    assert groups[-1].upper == Decimal(500_000_000)
    [chart] = response.context["charts"]
    assert [bar.label for bar in chart["chart"].bars][-3:] == [
        "Region 4",
        "3 others together",
        "No region stated",
    ]
    text = text_of(response)
    assert "3 others together about €60 million" in text
    assert "its 8 largest are shown and the others added up in one row" in text
    assert "the records with no region stated keep a row of their own" in text
    body = response.content.decode()
    link = "/funding/totals.csv?country=&amp;group=region"
    assert f'<a class="button-link" href="{link}">Download all 12 rows as CSV</a>' in body
    download = client.get(link.replace("&amp;", "&"))
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(download.getvalue().decode())))
    labels = [f"Region {size}" for size in range(1, 12)] + ["No region stated"]
    assert sorted(row["label"] for row in rows) == sorted(labels)
    assert {row["key"] for row in rows} == {f"region-{size}" for size in range(1, 12)} | {""}
    # A draft record is in neither the page nor its CSV.
    FundingRecordFactory(amount=Decimal(1), regions=[RegionFactory(name="Draft only")], status=Status.DRAFT)
    assert (
        len(list(csv.reader(io.StringIO(client.get(link.replace("&amp;", "&")).getvalue().decode())))) == 13
    )

    # Ten: eight and two others together. Nine: all shown (one row would stand for one group).
    ten = client.get("/funding/?amount_min=20000000").context["groups"]
    assert [g.label for g in ten] == [*largest, "2 others together", "No region stated"]
    nine = client.get("/funding/?amount_min=30000000")
    labels = [f"Region {size}" for size in range(11, 2, -1)] + ["No region stated"]
    assert [g.label for g in nine.context["groups"]] == labels
    assert "others together" not in nine.content.decode()
    assert "rows as CSV" not in nine.content.decode()


@pytest.mark.parametrize("group", ["region", "instrument"])
@pytest.mark.parametrize("query", ["", "country=RS&year=2024", "donor=eu", "region=syria-response"])
def test_the_totals_csv_has_the_rows_of_the_apis_grouped_totals(client, balkans_and_syria, group, query):
    """The page's CSV and the API's anonymous answer for the same filters: the same rows, the
    same columns, with a draft record in the data whose region neither names (both count it
    alike either way: tests/reliability/test_draft_leaks.py checks that neither counts it)."""
    FundingRecordFactory(amount=Decimal(5), regions=[RegionFactory(name="Draft only")], status=Status.DRAFT)

    def rows(address: str) -> list[list[str]]:
        response = client.get(address)
        assert response.status_code == 200, address
        return list(csv.reader(io.StringIO(response.getvalue().decode())))

    page = rows(f"/funding/totals.csv?group={group}&{query}")
    api = rows(f"/api/v1/funding/totals/?group_by={group}&format=csv&{query}")
    assert page == api
    assert len(page) > 1  # a header and at least one group
    assert not any("Draft only" in cell for row in page for cell in row)


def test_the_totals_csv_with_bad_filters_answers_400_with_the_reason(client):
    response = client.get("/funding/totals.csv?year=abc")
    assert response.status_code == 400
    assert response.content.decode().startswith("year:")


@pytest.mark.parametrize(
    "query", ["region=atlantis", "year=abc", "country=XX", "amount_min=lots", "top_level=maybe&year=twenty"]
)
def test_explorer_bad_filters_show_the_form_with_errors_not_a_server_error(client, balkans_and_syria, query):
    response = client.get(f"/funding/?{query}")

    assert response.status_code == 400
    assert "Some filters could not be used" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert list(response.context["object_list"]) == []
    assert "totals" not in response.context


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.getvalue().decode())))


@pytest.mark.parametrize(
    "query", ["", "region=western-balkans", "country=RS&year=2024", "donor=eu", "year=2021"]
)
def test_csv_holds_exactly_the_filtered_rows_in_the_page_order(client, balkans_and_syria, query):
    page = client.get(f"/funding/?{query}")
    download = client.get(f"/funding/export.csv?{query}")

    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"].startswith('attachment; filename="funding-')
    header, *rows = csv_rows(download)
    assert header == FUNDING_CSV_HEADER
    assert [row[0] for row in rows] == listed(page)


def test_csv_gives_the_exact_amount_qualifier_period_and_source(client, balkans_and_syria):
    header, *rows = csv_rows(client.get("/funding/export.csv?instrument=ipa"))
    row = dict(zip(header, rows[0], strict=True))

    assert row["slug"] == "wb-total"
    assert row["amount"] == "350000000.00"
    assert row["qualifier"] == "more_than"
    assert row["amount_display"] == "more than €350\u00a0million"
    assert (row["period_start"], row["period_start_precision"]) == ("2021", "year")
    assert row["period_display"] == "since 2021"
    assert row["url"] == "http://testserver/funding/wb-total/"
    # The names of version 1.0, kept until 1.2 after the others.
    assert row["amount_eur"] == "350000000.00"
    assert row["qualifier_wording"] == "more than"
    assert row["amount_text"] == "more than €350\u00a0million"
    assert row["period_start"] == "2021"
    assert row["period_text"] == "since 2021"
    assert row["instrument"] == "ipa"
    assert row["regions"] == "western-balkans"
    assert row["source_url"].startswith("https://example.org/source-")
    assert row["page_url"] == "http://testserver/funding/wb-total/"
    assert row["measure"] == "committed"


def test_csv_with_bad_filters_answers_400_with_the_reason(client, balkans_and_syria):
    response = client.get("/funding/export.csv?region=atlantis")

    assert response.status_code == 400
    assert response.content.decode().startswith("region:")


def test_explorer_query_count_does_not_grow_with_rows(client, django_assert_num_queries):
    region = RegionFactory(slug="r")
    country = CountryFactory(region=region)
    theme = ThemeFactory()
    instrument = InstrumentFactory()

    def make_rows(n):
        FundingRecordFactory.create_batch(
            n, regions=[region], countries=[country], themes=[theme], instrument=instrument, **year(2024)
        )

    assert_constant_queries(client, "/funding/?region=r", make_rows)
    # 1 region looked up by slug to validate the filter; 4 option lists of the form (region,
    # country, instrument, key area; "part of" is a text box, not 100 000 options); 1 count for
    # the pager; 1 page of records with
    # their instrument, source, parent and conference joined; 1 prefetch (regions: the table
    # shows no country or key area); 1 total by region (the overall total is its rows added up;
    # it also counts the records left out as parts of another) + 1 for the region labels.
    with django_assert_num_queries(10):
        client.get("/funding/?region=r")


def test_funding_record_page_shows_figure_parent_parts_and_source(client, balkans_and_syria):
    response = client.get("/funding/wb-package/")

    assert response.status_code == 200
    text = text_of(response)
    assert "€60 million in 2024" in text
    assert "Part of Western Balkans since 2021" in text
    assert "Governance" in text and "Returns programme" in text
    assert "The parts listed, within €60 million, add up to:" in text
    assert "Committed or allocated by the European Union: €60 million" in text
    assert 'href="/funding/wb-total/"' in response.content.decode()
    assert_accessible_structure(response)


def test_funding_record_page_hides_a_draft_parent(client, source):
    parent = FundingRecordFactory(title="Unpublished total", status=Status.DRAFT, amount=Decimal(10))
    FundingRecordFactory(slug="child", parent=parent, amount=Decimal(5))

    response = client.get("/funding/child/")

    assert response.status_code == 200
    assert "Unpublished total" not in response.content.decode()


@pytest.mark.parametrize(
    "url",
    ["/funding/draft-millions/", "/funding/no-such-record/", "/instruments/nope/", "/conferences/nope/"],
)
def test_drafts_and_unknown_slugs_are_404(client, balkans_and_syria, url):
    response = client.get(url)

    assert response.status_code == 404
    assert "There is no published page at this address" in response.content.decode()


def test_instrument_pages_total_their_funding(client, balkans_and_syria):
    InstrumentFactory(name="Hidden draft instrument", status=Status.DRAFT)

    listing = client.get("/instruments/")
    assert listing.status_code == 200
    assert "more than €350\u00a0million" in listing.content.decode()
    assert "Hidden draft instrument" not in listing.content.decode()

    detail = client.get("/instruments/ipa/")
    assert detail.status_code == 200
    assert [t.upper for t in detail.context["totals"]] == [Decimal(350_000_000)]
    assert 'href="/funding/?instrument=ipa"' in detail.content.decode()
    assert_accessible_structure(detail)


def test_conference_page_lists_its_pledges(client, source):
    conference = PledgingConferenceFactory(
        name="Eighth Brussels Conference", slug="brussels-viii", date=datetime.date(2024, 5, 27)
    )
    FundingRecordFactory(title="EU pledge", conference=conference, amount=Decimal(2_120_000_000))

    response = client.get("/conferences/brussels-viii/")

    assert response.status_code == 200
    assert '<time datetime="2024-05-27">27 May 2024</time>' in response.content.decode()
    assert "€2.12\u00a0billion" in response.content.decode()
    assert_accessible_structure(response)


def test_the_explorer_csv_names_its_columns_as_the_api_csv(client, balkans_and_syria):
    """One naming style (docs/api.md): every column of the explorer's CSV but the deprecated
    ones is a column of the API's CSV of the same records, with the same value."""
    from funding.exports import FUNDING_CSV_DEPRECATED_COLUMNS

    header, *rows = csv_rows(client.get("/funding/export.csv?instrument=ipa"))
    api_header, *api_rows = csv_rows(client.get("/api/v1/funding/?format=csv&instrument=ipa"))
    deprecated = {name for name, _ in FUNDING_CSV_DEPRECATED_COLUMNS} | {"page_url"}
    current = [name for name in header if name not in deprecated]
    assert set(current) <= set(api_header), set(current) - set(api_header)
    site, api = dict(zip(header, rows[0], strict=True)), dict(zip(api_header, api_rows[0], strict=True))
    assert {name: site[name] for name in current} == {name: api[name] for name in current}


@pytest.mark.parametrize(
    ("path", "factory", "counted"),
    [
        ("/conferences/", PledgingConferenceFactory, "2 conferences match the filters"),
        ("/instruments/", InstrumentFactory, "2 instruments match the filters"),
    ],
)
def test_the_conference_and_instrument_lists_filter_by_region_with_its_sub_regions(
    client, path, factory, counted
):
    """A region's page shows its first conferences and instruments and links here for all of
    them: ``?region=`` lists the ones of the region and of its published sub-regions, never a
    draft, and an unknown region is a 400 with the form's error, as on the other lists."""
    region = RegionFactory(slug="neighbourhood")
    sub = RegionFactory(slug="sub", parent=region)
    draft_sub = RegionFactory(slug="draft-sub", parent=region, status=Status.DRAFT)
    factory(name="On the region").regions.add(region)
    factory(name="On the sub-region").regions.add(sub)
    factory(name="On a draft sub-region").regions.add(draft_sub)
    factory(name="Elsewhere").regions.add(RegionFactory())
    factory(name="A draft on the region", status=Status.DRAFT).regions.add(region)

    listed = client.get(f"{path}?region=neighbourhood")
    assert listed.status_code == 200
    names = ("On the region", "On the sub-region", "On a draft sub-region", "Elsewhere")
    shown = [name for name in names if f">{name}</a>" in listed.content.decode()]
    assert sorted(shown) == ["On the region", "On the sub-region"]
    assert "A draft on the region" not in listed.content.decode()
    assert counted in text_of(listed)
    assert_accessible_structure(listed)
    unknown = client.get(f"{path}?region=nowhere")
    assert unknown.status_code == 400
    assert "Some filters could not be used" in unknown.content.decode()
