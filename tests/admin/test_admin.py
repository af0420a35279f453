"""The officers' admin: every model answers, filters and search work, lists cost constant queries."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from simple_history.models import HistoricalChanges

from agreements.models import Agreement, AgreementEvent, Document
from funding.models import FundingRecord, Instrument, PledgingConference
from migrationsupport.models import Delivery, PageSection, Theme
from regions.models import Country, PopulationFigure, Region, Route, RouteFigure
from tests.factories import DocumentFactory, FundingRecordFactory, RegionFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("migrationsupport", "regions", "funding", "agreements")
# django-axes' lockout records are read-only (no add page): tests/reliability/test_lockout.py covers them.
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label != "axes"),
    key=lambda model: model._meta.label,
)

LOGS = {Delivery}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def records(source):
    """One record of every model, related to each other the way the seed relates them."""
    theme = Theme.objects.create(name="Protection", slug="protection", source=source)
    PageSection.objects.create(slug="introduction", title="Introduction", body="<p>Hi</p>", source=source)
    region = Region.objects.create(name="Middle East", slug="middle-east", source=source)
    sub = Region.objects.create(name="Türkiye", slug="turkiye-region", parent=region, source=source)
    country = Country.objects.create(
        name="Türkiye", iso_code="TR", slug="turkiye", region=sub, candidate_status="candidate", source=source
    )
    syria = Country.objects.create(name="Syria", iso_code="SY", slug="syria", source=source)
    figure = PopulationFigure.objects.create(
        slug="syrians-in-turkiye",
        country=country,
        group="refugees from Syria",
        value=Decimal(3_100_000),
        qualifier="about",
        wording="around",
        as_of=datetime.date(2024, 1, 1),
        as_of_precision="year",
        source=source,
    )
    figure.origins.add(syria)
    route = Route.objects.create(name="Eastern Mediterranean", slug="eastern-med", source=source)
    route.regions.add(region)
    route.countries.add(country)
    RouteFigure.objects.create(
        route=route,
        slug="crossings-down",
        label="decrease of irregular border crossings",
        percent=Decimal(70),
        period=datetime.date(2024, 1, 1),
        period_precision="year",
        source=source,
    )
    instrument = Instrument.objects.create(
        name="NDICI-Global Europe", short_name="NDICI", slug="ndici", source=source
    )
    instrument.regions.add(region)
    conference = PledgingConference.objects.create(
        name="Brussels VIII", slug="brussels-viii", edition=8, date=datetime.date(2024, 5, 27), source=source
    )
    parent = FundingRecord.objects.create(
        title="Support to Syrians",
        slug="support-to-syrians",
        kind="total",
        amount=Decimal(350_000_000),
        qualifier="more_than",
        measure="committed",
        period_start=datetime.date(2021, 1, 1),
        period_start_precision="year",
        instrument=instrument,
        conference=conference,
        status="published",
        source=source,
    )
    parent.regions.add(region)
    parent.themes.add(theme)
    child = FundingRecord.objects.create(
        title="Education programme",
        slug="education-programme",
        kind="programme",
        amount=Decimal(47_000_000),
        measure="committed",
        parent=parent,
        source=source,
    )
    agreement = Agreement.objects.create(
        title="EU-Türkiye readmission", slug="eu-tr", kind="readmission", source=source
    )
    agreement.parties.add(country)
    AgreementEvent.objects.create(
        agreement=agreement,
        kind="entered_into_force",
        date=datetime.date(2014, 10, 1),
        status="published",
        source=source,
    )
    Document.objects.create(
        title="New Pact",
        slug="new-pact",
        kind="legislation",
        date=datetime.date(2024, 5, 1),
        date_precision="month",
        source=source,
    )
    return {"parent": parent, "child": child, "agreement": agreement}


def test_every_project_model_is_registered():
    for app_label in PROJECT_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if issubclass(model, HistoricalChanges) or getattr(model, "DERIVED", False):
                continue  # history and stored computations (funding.rollup) are not edited
            assert admin.site.is_registered(model), model._meta.label


def test_admin_site_is_titled(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Migration Support administration" in response.content.decode()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_changelist_add_and_change_pages_answer(admin_client, records, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    # A log (webhook deliveries) is written by the site, never added by hand.
    assert admin_client.get(admin_url(model, "add")).status_code == (403 if model in LOGS else 200)
    obj = model._default_manager.first()
    if obj is not None:
        assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200
        assert admin_client.get(admin_url(model, "history", obj.pk)).status_code == 200


def test_funding_changelist_renders_qualified_amount_and_period(admin_client, records):
    response = admin_client.get(admin_url(FundingRecord, "changelist"))
    content = response.content.decode()
    assert "more than €350\u00a0million" in content
    assert "since 2021" in content
    assert "NDICI" in content


def test_funding_changelist_with_search_and_filters(admin_client, records):
    region = Region.objects.get(slug="middle-east")
    response = admin_client.get(
        admin_url(FundingRecord, "changelist"),
        {
            "q": "Syrians",
            "status__exact": "published",
            "kind__exact": "total",
            "regions__id__exact": region.pk,
        },
    )
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [records["parent"]]

    response = admin_client.get(admin_url(FundingRecord, "changelist"), {"level": "part", "q": "programme"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [records["child"]]


def test_many_to_many_filters_are_semi_joins_without_distinct(admin_client):
    # Django's own filter on a many-to-many field makes the changelist SELECT DISTINCT over every
    # column; ManyToManyListFilter asks the through table instead, at the same address.
    north, south = RegionFactory(name="North"), RegionFactory(name="South")
    both = FundingRecordFactory(title="Both", regions=[north, south])
    FundingRecordFactory(title="South only", regions=[south])
    url = admin_url(FundingRecord, "changelist")

    response = admin_client.get(url, {"regions__id__exact": north.pk})

    assert response.status_code == 200
    changelist = response.context["cl"]
    assert list(changelist.result_list) == [both]
    assert not changelist.queryset.query.distinct
    assert "North" in response.content.decode() and "South" in response.content.decode()
    titles = {
        r.title for r in admin_client.get(url, {"regions__id__exact": south.pk}).context["cl"].result_list
    }
    assert titles == {"Both", "South only"}
    # Documents by region: the same filter on another model.
    document = DocumentFactory(title="Northern plan")
    document.regions.add(north)
    response = admin_client.get(admin_url(Document, "changelist"), {"regions__id__exact": north.pk})
    assert [d.title for d in response.context["cl"].result_list] == ["Northern plan"]


def test_agreement_changelist_filters_on_current_status(admin_client, records):
    url = admin_url(Agreement, "changelist")
    response = admin_client.get(url, {"current_status": "in_force", "q": "readmission"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [records["agreement"]]
    assert "In force" in response.content.decode()
    response = admin_client.get(url, {"current_status": "suspended"})
    assert list(response.context["cl"].result_list) == []


def test_country_changelist_filters_on_candidate_status(admin_client, records):
    response = admin_client.get(admin_url(Country, "changelist"), {"candidate_status__exact": "candidate"})
    assert response.status_code == 200
    assert [c.iso_code for c in response.context["cl"].result_list] == ["TR"]


def test_document_date_hierarchy_drills_down(admin_client, records, source):
    Document.objects.create(title="Undated", slug="undated", kind="communication", source=source)
    url = admin_url(Document, "changelist")
    assert admin_client.get(url).status_code == 200
    response = admin_client.get(url, {"date__year": 2024, "date__month": 5})
    assert response.status_code == 200
    assert [d.slug for d in response.context["cl"].result_list] == ["new-pact"]


def test_funding_change_page_shows_children_inline(admin_client, records):
    response = admin_client.get(admin_url(FundingRecord, "change", records["parent"].pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="children-group"' in content
    assert 'name="children-TOTAL_FORMS"' in content
    assert 'value="Education programme"' in content


def test_agreement_change_page_shows_events_inline(admin_client, records):
    response = admin_client.get(admin_url(Agreement, "change", records["agreement"].pk))
    assert response.status_code == 200
    assert 'id="events-group"' in response.content.decode()


def _create_funding_rows(source, instrument, region, start: int, count: int) -> None:
    for i in range(start, start + count):
        parent = FundingRecord.objects.filter(slug=f"row-{i - 1}").first()
        record = FundingRecord.objects.create(
            title=f"Row {i}",
            slug=f"row-{i}",
            amount=Decimal(1000 + i),
            measure="committed",
            instrument=instrument,
            parent=parent,
            period_start=datetime.date(2020, 1, 1),
            period_start_precision="year",
            source=source,
        )
        record.regions.add(region)


def test_funding_changelist_query_count_does_not_grow_with_rows(admin_client, source):
    instrument = Instrument.objects.create(name="IPA III", slug="ipa-iii", source=source)
    region = Region.objects.create(name="Western Balkans", slug="western-balkans", source=source)
    url = admin_url(FundingRecord, "changelist")

    _create_funding_rows(source, instrument, region, start=0, count=3)
    admin_client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as three_rows:
        response = admin_client.get(url)
    assert len(response.context["cl"].result_list) == 3

    _create_funding_rows(source, instrument, region, start=3, count=27)
    with CaptureQueriesContext(connection) as thirty_rows:
        response = admin_client.get(url)
    assert len(response.context["cl"].result_list) == 30

    # 1 session, 2 user, 3-6 the choices of the instrument, regions, conference and themes
    # filters, 7 the filtered count (no full-table count: show_full_result_count is off), 8 the
    # rows with instrument and parent joined, 9 the prefetched regions, 10-11 the date
    # hierarchy's range and dates. None is per row.
    assert len(three_rows) == 11, [q["sql"] for q in three_rows.captured_queries]
    assert len(thirty_rows) == len(three_rows), [q["sql"] for q in thirty_rows.captured_queries]


def test_invalid_funding_record_is_refused_with_field_errors(admin_client, source):
    data = {
        "title": "Broken",
        "slug": "broken",
        "kind": "package",
        "amount": "-5",
        "qualifier": "exact",
        "wording": "",
        "period_start": "2024-01-01",
        "period_start_precision": "year",
        "period_end": "2023-01-01",
        "period_end_precision": "year",
        "donor": "eu",
        "source": source.pk,
        "status": "draft",
        "children-TOTAL_FORMS": "0",
        "children-INITIAL_FORMS": "0",
        "children-MIN_NUM_FORMS": "0",
        "children-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(admin_url(FundingRecord, "add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "An amount cannot be negative." in errors["amount"]
    assert "The period cannot end before it starts." in errors["period_end"]
    assert not FundingRecord.objects.exists()


def test_valid_funding_record_is_saved_with_history(admin_client, source):
    data = {
        "title": "Package 2024",
        "slug": "package-2024",
        "kind": "package",
        "amount": "60000000",
        "qualifier": "exact",
        "wording": "",
        "measure": "committed",
        "period_start": "2024-01-01",
        "period_start_precision": "year",
        "period_end": "",
        "period_end_precision": "",
        "donor": "eu",
        "source": source.pk,
        "status": "draft",
        "children-TOTAL_FORMS": "1",
        "children-INITIAL_FORMS": "0",
        "children-MIN_NUM_FORMS": "0",
        "children-MAX_NUM_FORMS": "1000",
        "children-0-title": "Programme",
        "children-0-slug": "programme-2024",
        "children-0-kind": "programme",
        "children-0-amount": "47000000",
        "children-0-qualifier": "exact",
        "children-0-source": source.pk,
        "children-0-status": "draft",
    }
    response = admin_client.post(admin_url(FundingRecord, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    package = FundingRecord.objects.get(slug="package-2024")
    assert [(c.slug, c.measure) for c in package.children.all()] == [("programme-2024", "committed")]
    assert package.history.count() == 1


def test_a_possible_overlap_with_another_measure_is_refused_beside_the_field(admin_client, source):
    pledge = FundingRecordFactory(title="A pledge", measure="pledged")
    data = {
        "title": "Programme",
        "slug": "programme",
        "kind": "programme",
        "amount": "36000000",
        "qualifier": "exact",
        "wording": "",
        "measure": "committed",
        "donor": "eu",
        "may_overlap": [pledge.pk],
        "source": source.pk,
        "status": "draft",
        "children-TOTAL_FORMS": "0",
        "children-INITIAL_FORMS": "0",
        "children-MIN_NUM_FORMS": "0",
        "children-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(admin_url(FundingRecord, "add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "another measure or donor" in " ".join(errors["may_overlap"])
    assert not FundingRecord.objects.filter(slug="programme").exists()

    data["may_overlap"] = [FundingRecordFactory(title="The 350 million").pk]
    assert admin_client.post(admin_url(FundingRecord, "add"), data).status_code == 302
    record = FundingRecord.objects.get(slug="programme")
    assert [o.title for o in record.may_overlap.all()] == ["The 350 million"]


def test_the_change_form_suggests_figures_that_may_overlap(admin_client, source):
    region = RegionFactory()
    whole = FundingRecordFactory(title="More than 350 million", regions=[region])
    record = FundingRecordFactory(title="36 million programme", regions=[region])
    FundingRecordFactory(title="Elsewhere", regions=[RegionFactory()])
    FundingRecordFactory(title="A pledge", measure="pledged", regions=[region])
    FundingRecordFactory(title="A part", parent=record, regions=[region])
    response = admin_client.get(admin_url(FundingRecord, "change", record.pk))
    body = response.content.decode()
    assert "More than 350 million" in body and f"/{whole.pk}/change/" in body
    for not_a_candidate in ("Elsewhere", "A pledge"):
        assert not_a_candidate not in body


def test_funding_autocomplete_finds_sources_and_parents(admin_client, records, source):
    url = reverse("admin:autocomplete")
    query = {"app_label": "funding", "model_name": "fundingrecord"}
    for field_name, term, expected in [
        ("source", source.title, source.title),
        ("parent", "Syrians", "Support"),
    ]:
        response = admin_client.get(url, {**query, "field_name": field_name, "term": term})
        assert response.status_code == 200
        texts = [result["text"] for result in response.json()["results"]]
        assert len(texts) == 1
        assert texts[0].startswith(expected)


def _create_agreements(source, region, countries, start: int, count: int) -> None:
    for i in range(start, start + count):
        agreement = Agreement.objects.create(
            title=f"Agreement {i}", slug=f"agreement-{i}", kind="readmission", region=region, source=source
        )
        agreement.parties.set(countries)
        AgreementEvent.objects.create(
            agreement=agreement,
            kind="signed",
            date=datetime.date(2020, 1, 1),
            status="published",
            source=source,
        )


def test_agreement_changelist_query_count_does_not_grow_with_rows(admin_client, source):
    region = Region.objects.create(name="Eastern Partnership", slug="eap", source=source)
    countries = [
        Country.objects.create(name=name, iso_code=code, slug=code.lower(), source=source)
        for name, code in (("Georgia", "GE"), ("Armenia", "AM"))
    ]
    url = admin_url(Agreement, "changelist")

    _create_agreements(source, region, countries, start=0, count=3)
    admin_client.get(url)
    with CaptureQueriesContext(connection) as three_rows:
        response = admin_client.get(url)
    assert len(response.context["cl"].result_list) == 3

    _create_agreements(source, region, countries, start=3, count=27)
    with CaptureQueriesContext(connection) as thirty_rows:
        response = admin_client.get(url)
    assert len(response.context["cl"].result_list) == 30

    # 1 session, 2 user, 3-4 the choices of the region and themes filters, 5 the filtered count
    # (no full-table count: show_full_result_count is off), 6 the rows (current status, last
    # editor and region in the same query), 7 the prefetched parties. None is per row.
    assert len(three_rows) == 7, [q["sql"] for q in three_rows.captured_queries]
    assert len(thirty_rows) == len(three_rows), [q["sql"] for q in thirty_rows.captured_queries]


def test_an_editors_funding_changelist_costs_constant_queries(source, django_user_model):
    editor = django_user_model.objects.create_user("ed", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    client = Client()
    client.force_login(editor)
    instrument = Instrument.objects.create(name="IPA III", slug="ipa-iii", source=source)
    region = Region.objects.create(name="Western Balkans", slug="western-balkans", source=source)
    url = admin_url(FundingRecord, "changelist")

    _create_funding_rows(source, instrument, region, start=0, count=3)
    client.get(url)
    with CaptureQueriesContext(connection) as three_rows:
        client.get(url)
    _create_funding_rows(source, instrument, region, start=3, count=27)
    with CaptureQueriesContext(connection) as thirty_rows:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 30
    # As for a superuser, plus the Editor's group and user permissions (2).
    assert len(three_rows) == 13, [q["sql"] for q in three_rows.captured_queries]
    assert len(thirty_rows) == len(three_rows)
