"""The seed fixtures (fixtures/*.json) load cleanly and say exactly what the seed page says."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.template import Context, Template

from agreements.models import Agreement, AgreementEvent, Document
from funding.models import FundingRecord, Instrument, PledgingConference
from migrationsupport.models import PageSection, PublishableModel, Source, Theme
from migrationsupport.richtext import RichTextField, sanitise
from regions.models import (
    LIST_NOT_GIVEN,
    Country,
    PopulationFigure,
    Region,
    Route,
    RouteFigure,
    has_bare_colon,
)

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
FIXTURES = sorted(str(p) for p in (BASE_DIR / "fixtures").glob("*.json"))
# The text of the seed page (the source every seed record cites), kept in the repository so a
# clone tests on its own: fixtures/sources/README.md says where it comes from.
SEED_FILE = BASE_DIR / "fixtures" / "sources" / "000_d7b9f8ecbda8834c.txt"
APPS = ("migrationsupport", "regions", "funding", "agreements")
NBSP = "\u00a0"

EXPECTED_COUNTS = {
    "migrationsupport.Source": 1,
    "migrationsupport.Theme": 7,
    "migrationsupport.PageSection": 4,
    "regions.Region": 6,
    "regions.Country": 17,
    "regions.Route": 2,
    "regions.RouteFigure": 1,
    "regions.PopulationFigure": 2,
    "funding.Instrument": 2,
    "funding.PledgingConference": 1,
    "funding.FundingRecord": 11,
    # The seed states no commitment or payment answering its pledges (docs/funding-figures.md, 9).
    "funding.Fulfilment": 0,
    "agreements.Agreement": 19,
    "agreements.AgreementEvent": 5,
    "agreements.Document": 11,
}


def record_models():
    """The public record types (historical tables excluded)."""
    return [
        m
        for m in apps.get_models()
        if m._meta.app_label in APPS
        and issubclass(m, PublishableModel)  # not the webhooks' subscriptions and their log
        and not m.__name__.startswith("Historical")
        and not getattr(m, "DERIVED", False)  # stored computations (funding.rollup), not records
    ]


def counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in record_models()}


@pytest.fixture(scope="module")
def seed(django_db_setup, django_db_blocker):
    """The seed, loaded once for the module (about 3 s a load): in a transaction rolled back after
    the last test. Each test's own (the ``django_db`` mark) is a savepoint inside it, so what a
    test writes (a second load) is gone before the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("loaddata", *FIXTURES, verbosity=0)
        yield
        transaction.set_rollback(True)


def render(template: str, **context) -> str:
    return Template("{% load records %}" + template).render(Context(context))


def funding(slug: str) -> FundingRecord:
    return FundingRecord.objects.get(slug=slug)


# --- the fixture files themselves ------------------------------------------------------------


def test_fixture_files_use_explicit_pks_and_no_history():
    assert [Path(f).name for f in FIXTURES] == [
        "01_sources.json",
        "02_themes_sections.json",
        "03_regions.json",
        "04_countries.json",
        "05_funding.json",
        "06_agreements.json",
        "07_documents.json",
    ]
    seen = Counter()
    for path in FIXTURES:
        for entry in json.loads(Path(path).read_text(encoding="utf-8")):
            assert isinstance(entry["pk"], int), entry
            assert "historical" not in entry["model"], entry["model"]
            assert entry["fields"]["status"] == "published", entry
            seen[(entry["model"], entry["pk"])] += 1
    assert max(seen.values()) == 1, "a (model, pk) appears twice"


# --- loading ----------------------------------------------------------------------------------


def test_counts_and_reload_duplicates_nothing(seed):
    first = counts()
    assert first == EXPECTED_COUNTS
    call_command("loaddata", *FIXTURES, verbosity=0)
    assert counts() == first


def test_every_record_is_published_and_cites_the_seed(seed):
    source = Source.objects.get(pk=1)
    assert source.slug == "dg-near-migration-support"
    assert source.title == "EU support to partner countries on migration and forced displacement"
    assert source.publisher.startswith("European Commission, Directorate-General for Neighbourhood")
    assert source.url.startswith("https://neighbourhood-enlargement.ec.europa.eu/")
    assert source.date is None and source.date_precision == ""
    for model in record_models():
        assert model.objects.exclude(status="published").count() == 0, model
        assert model.objects.published().count() == EXPECTED_COUNTS[model._meta.label]
        if model is not Source:
            assert model.objects.exclude(source=source).count() == 0, model


def test_every_record_passes_model_validation(seed):
    checked = 0
    for model in record_models():
        for obj in model.objects.all():
            obj.full_clean()
            checked += 1
    assert checked == sum(EXPECTED_COUNTS.values())


def test_rich_text_is_stored_sanitised(seed):
    # loaddata saves raw (no pre_save), so the fixtures must already hold what nh3 would keep.
    for model in record_models():
        fields = [f.attname for f in model._meta.fields if isinstance(f, RichTextField)]
        for obj in model.objects.all():
            for name in fields:
                value = getattr(obj, name)
                assert value == sanitise(value), (model, obj.pk, name)


def test_loading_records_one_baseline_history_entry_per_record_and_reloading_adds_none(seed):
    history_counts = {m._meta.label: m.history.count() for m in record_models()}
    assert history_counts == counts()
    baseline = FundingRecord.history.get(slug="western-balkans-package-2024")
    assert baseline.history_change_reason == "Loaded from fixtures"
    assert {c.country.iso_code for c in baseline.countries.all()} == {"BA", "RS", "ME", "MK"}
    call_command("loaddata", *FIXTURES, verbosity=0)
    assert {m._meta.label: m.history.count() for m in record_models()} == history_counts


# --- overview: themes, sections, regions --------------------------------------------------------


def test_themes_in_seed_order(seed):
    assert list(Theme.objects.values_list("name", flat=True)) == [
        "Protection of vulnerable migrants, asylum seekers and refugees",
        "Legal migration and labour mobility",
        "Addressing the root causes of irregular migration",
        "Combating smuggling of migrants and trafficking in human beings",
        "Strengthening border management capacities of partner countries",
        "Returns of irregularly staying migrants from the EU to their countries of origin",
        "Support to voluntary returns and sustainable reintegration of returnees"
        " in their countries of origin",
    ]


def test_page_sections(seed):
    assert list(PageSection.objects.values_list("slug", flat=True)) == [
        "introduction",
        "key-areas",
        "whole-of-route",
        "partnerships",
    ]
    assert PageSection.objects.get(slug="introduction").body.startswith(
        "<p>Migration and forced displacement are global phenomena."
    )
    assert "Team Europe" in PageSection.objects.get(slug="partnerships").body


def test_region_tree(seed):
    tree = [(r.name, r.parent.name if r.parent else None) for r in Region.objects.all()]
    assert tree == [
        ("Southern Neighbourhood", None),
        ("North Africa", "Southern Neighbourhood"),
        ("Regional response to the Syrian refugee crisis", "Southern Neighbourhood"),
        ("Türkiye", "Southern Neighbourhood"),
        ("Eastern Neighbourhood", None),
        ("Western Balkans", None),
    ]
    assert list(Region.objects.top_level().values_list("slug", flat=True)) == [
        "southern-neighbourhood",
        "eastern-neighbourhood",
        "western-balkans",
    ]


def test_region_bodies_leave_figures_to_their_records(seed):
    bodies = " ".join(Region.objects.values_list("body", flat=True))
    for figure in (
        "€33 billion",
        "€6 billion",
        "€2.12 billion",
        "€900 million",
        "€350 million",
        "€60 million",
        "€47 million",
        "€13 million",
        "€36 million",
        "3.1 million",
        "300 000",
        "70%",
    ):
        assert figure not in bodies, figure
    assert "Belarus<sup>[1]</sup>" in Region.objects.get(slug="eastern-neighbourhood").body


def _fragments(value: str):
    text = re.sub(r"</?(sup|sub|strong|em|b|i|a)\b[^>]*>", "", value).replace("[1]", "")
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    for para in text.split("\n"):
        for fragment in re.split(r"(?<=[.;:])\s+", para.strip()):
            fragment = " ".join(fragment.split()).rstrip(".")
            if fragment:
                yield fragment


def test_text_is_the_seeds_wording(seed):
    seed_text = " ".join(SEED_FILE.read_text(encoding="utf-8").replace("[1]", "").split())
    texts = [
        *PageSection.objects.values_list("body", flat=True),
        # The note after a list the seed announces but does not give is ours, not the seed's.
        *(body.replace(LIST_NOT_GIVEN, "") for body in Region.objects.values_list("body", flat=True)),
        *Region.objects.values_list("summary", flat=True),
        *Country.objects.values_list("cooperation_note", flat=True),
        *Route.objects.values_list("description", flat=True),
        *FundingRecord.objects.values_list("description", flat=True),
        *Agreement.objects.values_list("description", flat=True),
        *Document.objects.values_list("summary", flat=True),
    ]
    checked = 0
    for value in texts:
        for fragment in _fragments(value):
            assert fragment in seed_text, fragment
            checked += 1
    assert checked > 60


def test_lists_the_seed_announces_but_does_not_give_say_so(seed):
    seed_text = SEED_FILE.read_text(encoding="utf-8")
    announced = {
        "north-africa": "has been channelled through two main financing instruments:",
        "syrian-refugee-crisis-response": "is channelled through the following two main instruments:",
        "eastern-neighbourhood": "NDICI programmes in this area include:",
    }
    for slug, sentence in announced.items():
        assert f"{sentence}\n\n" in seed_text  # the seed gives no list after it
        body = Region.objects.get(slug=slug).body
        assert f"{sentence} <em>{LIST_NOT_GIVEN}</em></p>" in body, slug
    assert not any(has_bare_colon(body) for body in Region.objects.values_list("body", flat=True))


# --- countries, populations, routes -----------------------------------------------------------


def test_countries(seed):
    assert set(Country.objects.values_list("iso_code", flat=True)) == {
        "TR",
        "SY",
        "AM",
        "AZ",
        "BY",
        "GE",
        "MD",
        "UA",
        "AL",
        "BA",
        "ME",
        "MK",
        "RS",
        "IQ",
        "AF",
        "IR",
        "SO",
    }
    # "... which now also includes Moldova, Ukraine and Georgia as candidate countries": the only
    # candidate status the seed states, and the only cooperation status is Belarus's suspension.
    assert set(Country.objects.filter(candidate_status="candidate").values_list("iso_code", flat=True)) == {
        "GE",
        "MD",
        "UA",
    }
    assert set(Country.objects.exclude(candidate_status="not_stated").values_list("iso_code", flat=True)) == {
        "GE",
        "MD",
        "UA",
    }
    assert set(
        Country.objects.exclude(cooperation_status="not_stated").values_list("iso_code", flat=True)
    ) == {"BY"}
    assert set(
        Country.objects.filter(eastern_partnership_member=True).values_list("iso_code", flat=True)
    ) == {
        "AM",
        "AZ",
        "BY",
        "GE",
        "MD",
        "UA",
    }
    assert set(Country.objects.filter(region__isnull=True).values_list("iso_code", flat=True)) == {
        "IQ",
        "AF",
        "IR",
        "SO",
    }
    assert Country.objects.get(iso_code="TR").region.slug == "turkiye-region"
    assert Country.objects.get(iso_code="SY").region.slug == "syrian-refugee-crisis-response"
    assert Country.objects.get(iso_code="MK").slug == "north-macedonia"


def test_belarus_footnote_and_dates(seed):
    belarus = Country.objects.get(iso_code="BY")
    assert belarus.cooperation_status == "suspended"
    assert str(belarus.partial_date("cooperation_suspended_since")) == "2020"
    assert str(belarus.partial_date("eastern_partnership_left")) == "June 2021"
    assert not belarus.is_eastern_partnership_participant
    assert belarus.cooperation_note.startswith(
        "<p>Cooperation with Belarus has been suspended since 2020, in line with relevant Council "
        "Conclusions (October 2020, February 2022, February 2024)"
    )
    assert (
        "partially suspended for Belarus government officials since 9 November 2021"
        in belarus.cooperation_note
    )
    assert (
        render(
            "{{ d|partial_date:p }}",
            d=belarus.eastern_partnership_left,
            p=belarus.eastern_partnership_left_precision,
        )
        == "June 2021"
    )
    assert Country.objects.filter(cooperation_status="suspended").count() == 1


def test_turkiye_population_figures(seed):
    syria, others = PopulationFigure.objects.filter(country__iso_code="TR").order_by("-value")
    assert str(syria.quantity) == f"around 3.1{NBSP}million"
    assert syria.value == 3_100_000 and syria.qualifier == "about"
    assert str(syria.partial_date("since")) == "2015"
    assert syria.as_of is None
    assert list(syria.origins.values_list("iso_code", flat=True)) == ["SY"]
    assert str(others.quantity) == f"around 300{NBSP}000"
    assert set(others.origins.values_list("iso_code", flat=True)) == {"IQ", "AF", "IR", "SO"}
    # "... from other countries including Iraq, Afghanistan, Iran and Somalia"
    assert others.origins_non_exhaustive and not syria.origins_non_exhaustive
    assert others.since is None and others.as_of is None


def test_routes_and_the_70_percent(seed):
    figure = RouteFigure.objects.get()
    assert figure.route.name == "Western Balkan route"
    assert figure.percent == Decimal("70")
    assert str(figure.period_display) == "2024"
    assert list(figure.route.regions.values_list("slug", flat=True)) == ["western-balkans"]
    east_med = Route.objects.get(slug="eastern-mediterranean-route")
    assert list(east_med.countries.values_list("iso_code", flat=True)) == ["TR"]


# --- money ------------------------------------------------------------------------------------


def test_instruments_and_conference(seed):
    assert set(Instrument.objects.values_list("short_name", flat=True)) == {"IPA III", "NDICI-Global Europe"}
    conference = PledgingConference.objects.get()
    assert conference.edition == 8
    assert str(conference.date_display) == "27 May 2024"
    assert conference.place == "Brussels"
    assert "Supporting the Future of Syria and the Region" in conference.name


@pytest.mark.parametrize(
    "slug, shown, period",
    [
        ("syria-response-since-2011", f"more than €33{NBSP}billion", "since 2011"),
        ("syria-pledges-2024", f"almost €6{NBSP}billion", "in 2024"),
        ("syria-commission-pledge-2024-2025", f"€2.12{NBSP}billion", "for 2024 and 2025"),
        ("turkiye-migration-border-management", f"close to €900{NBSP}million", ""),
        ("western-balkans-migration-management-since-2021", f"more than €350{NBSP}million", "since 2021"),
        ("western-balkans-package-2024", f"€60{NBSP}million", "in 2024"),
        ("western-balkans-migration-governance-organised-crime-2024", f"€47{NBSP}million", "in 2024"),
        ("western-balkans-return-management-programme-2024", f"€13{NBSP}million", "in 2024"),
        # "launched in June 2023": a moment, not "since June 2023".
        ("western-balkans-anti-smuggling-programme", f"€36{NBSP}million", "in June 2023"),
    ],
)
def test_amounts_render_as_the_seed_writes_them(seed, slug, shown, period):
    record = funding(slug)
    assert str(record.amount_display) == shown
    assert render("{{ r.amount_display|amount }}", r=record) == shown
    assert record.period_display == period


def test_funding_donors_and_links(seed):
    assert funding("syria-response-since-2011").donor == "eu_and_member_states"
    assert funding("syria-pledges-2024").donor == "eu_and_member_states"
    assert funding("syria-pledges-2024").conference.edition == 8
    commission = funding("syria-commission-pledge-2024-2025")
    assert commission.donor == "european_commission"
    assert commission.parent.slug == "syria-pledges-2024"
    assert funding("western-balkans-migration-management-since-2021").instrument.short_name == "IPA III"
    assert funding("western-balkans-anti-smuggling-programme").parent is None
    frontex = funding("western-balkans-frontex-ibm-programme")
    assert frontex.amount is None and frontex.amount_display is None and frontex.implementer == "Frontex"
    assert funding("western-balkans-ipa-asylum-reception-returns").amount is None


@pytest.mark.parametrize(
    "slug, measure, verb",
    [
        ("syria-response-since-2011", "mobilised", "mobilizing"),
        ("syria-pledges-2024", "pledged", "pledged"),
        ("syria-commission-pledge-2024-2025", "pledged", "pledged"),
        ("turkiye-migration-border-management", "committed", "allocated"),
        # "This includes the latest €60 million package adopted": what holds an adopted package.
        ("western-balkans-migration-management-since-2021", "committed", "adopted"),
        ("western-balkans-package-2024", "committed", "adopted"),
        ("western-balkans-anti-smuggling-programme", "committed", "launched"),
    ],
)
def test_each_figure_measures_what_the_seeds_verb_says(seed, slug, measure, verb):
    record = funding(slug)
    assert record.measure == measure
    assert verb in record.source_passage


def test_every_figure_keeps_the_passage_it_comes_from_verbatim(seed):
    seed_text = SEED_FILE.read_text(encoding="utf-8")
    for record in FundingRecord.objects.all():
        assert record.source_passage, record.slug
        assert record.source_passage in seed_text, record.slug
        if record.amount is not None:
            # The figure itself is in its passage ("€350 million", "€2.12 billion").
            number = str(record.amount_display).split("€", 1)[1].split("\u00a0")[0]
            assert f"€{number}" in record.source_passage, record.slug


def test_the_seeds_only_possible_overlap_is_marked(seed):
    marked = {
        frozenset((record.slug, other.slug))
        for record in FundingRecord.objects.all()
        for other in record.may_overlap.all()
    }
    assert marked == {
        frozenset(
            ("western-balkans-anti-smuggling-programme", "western-balkans-migration-management-since-2021")
        )
    }


def test_the_60_million_package_nests(seed):
    package = funding("western-balkans-package-2024")
    assert package.parent.slug == "western-balkans-migration-management-since-2021"
    assert package.children.aggregate(total=Sum("amount"))["total"] == package.amount == Decimal("60000000")
    assert sorted(package.children.values_list("amount", flat=True)) == [
        Decimal("13000000"),
        Decimal("47000000"),
    ]
    assert set(package.countries.values_list("iso_code", flat=True)) == {"BA", "RS", "ME", "MK"}


# --- agreements and documents -----------------------------------------------------------------


def test_agreements(seed):
    kinds = Counter(Agreement.objects.values_list("kind", flat=True))
    assert kinds == {
        "statement": 1,
        "readmission": 7,
        "visa_facilitation": 3,
        "visa_liberalisation": 3,
        "frontex_status": 4,
        "frontex_working": 1,
    }
    assert set(
        Agreement.objects.filter(kind="readmission", parties__eastern_partnership_member=True).values_list(
            "parties__iso_code", flat=True
        )
    ) == {"AM", "AZ", "BY", "GE", "MD", "UA"}
    working = Agreement.objects.get(kind="frontex_working")
    assert working.region.slug == "eastern-neighbourhood" and not working.parties.exists()


def test_agreement_timelines(seed):
    statement = Agreement.objects.get(slug="eu-turkey-statement")
    assert [str(e.date_display) for e in statement.events.all()] == ["March 2016"]

    belarus_vfa = Agreement.objects.get(kind="visa_facilitation", parties__iso_code="BY")
    events = list(belarus_vfa.events.all())
    assert [(e.kind, str(e.date_display)) for e in events] == [
        ("entered_into_force", "1 July 2020"),
        ("partially_suspended", "9 November 2021"),
    ]
    assert events[1].description == "for Belarus government officials"
    assert belarus_vfa.current_status == "partially_suspended"

    north_macedonia = Agreement.objects.get(kind="frontex_status", parties__iso_code="MK")
    assert [(e.kind, str(e.date_display)) for e in north_macedonia.events.all()] == [
        ("signed", "October 2022"),
        ("operations_launched", "April 2023"),
    ]
    statuses = dict(Agreement.objects.with_current_status().values_list("slug", "current_status_code"))
    assert statuses[north_macedonia.slug] == "operational"
    assert statuses[belarus_vfa.slug] == "partially_suspended"
    assert statuses["eu-turkey-statement"] == "adopted"
    assert statuses["eu-armenia-visa-facilitation-agreement"] == "being_implemented"
    assert statuses["eu-georgia-visa-liberalisation"] == ""
    assert AgreementEvent.objects.count() == 5


def test_agreement_statuses_are_the_ones_the_seed_states(seed):
    statuses = dict(Agreement.objects.with_current_status().values_list("slug", "current_status_code"))
    # "The EU has also concluded status agreements with Albania, Montenegro, and Serbia"
    for country in ("albania", "montenegro", "serbia"):
        assert statuses[f"frontex-status-agreement-{country}"] == "concluded"
    # "supports the implementation of agreements on visa facilitation (with Armenia, Azerbaijan and
    # Belarus) and readmission (all partners)"; Belarus's readmission agreement: nothing stated.
    implemented = {slug for slug, status in statuses.items() if status == "being_implemented"}
    assert implemented == {
        "eu-armenia-visa-facilitation-agreement",
        "eu-azerbaijan-visa-facilitation-agreement",
        *(
            f"eu-{c}-readmission-agreement"
            for c in ("armenia", "azerbaijan", "georgia", "moldova", "ukraine")
        ),
    }
    assert statuses["eu-belarus-readmission-agreement"] == ""
    assert Agreement.objects.get(slug="eu-belarus-readmission-agreement").current_status_label == (
        "Status not stated"
    )
    # "continued cooperation on visa liberalisation ... with Georgia, Moldova and Ukraine"
    for country in ("Georgia", "Moldova", "Ukraine"):
        agreement = Agreement.objects.get(slug=f"eu-{country.lower()}-visa-liberalisation")
        assert agreement.title == f"Cooperation on visa liberalisation with {country}"
        assert agreement.get_kind_display() == "Cooperation on visa liberalisation"
        assert statuses[agreement.slug] == ""
    assert "in_force" not in statuses.values() and "ongoing" not in statuses.values()
    assert {s for s in statuses.values() if s} == {
        "adopted",
        "being_implemented",
        "concluded",
        "operational",
        "partially_suspended",
    }


def test_documents(seed):
    dates = {d.title: (str(d.date_display) if d.date else None) for d in Document.objects.all()}
    assert dates == {
        "New Agenda for the Mediterranean": "2021",
        "UN Security Council Resolution 2254": None,
        "Joint Communication on EU-Türkiye political, economic and trade relations": "29 November 2023",
        "EU Action Plan for the Eastern Mediterranean route": "18 October 2023",
        "Joint Communication on the Eastern Partnership - Eastern Partnership policy beyond 2020": None,
        "Joint Staff Working Document - Recovery, resilience and reform:"
        " post 2020 Eastern Partnership priorities": None,
        "Communication on pre-enlargement reforms and policy reviews": "March 2024",
        "Pact on Migration and Asylum": "May 2024",
        "Council Conclusions on Belarus (October 2020)": "October 2020",
        "Council Conclusions on Belarus (February 2022)": "February 2022",
        "Council Conclusions on Belarus (February 2024)": "February 2024",
    }
    assert not Document.objects.exclude(url="").exists()
    belarus_docs = Document.objects.filter(countries__iso_code="BY", kind="council_conclusions")
    assert belarus_docs.count() == 3
    assert (
        render(
            "{{ d.date|partial_date:d.date_precision }}",
            d=Document.objects.get(slug="pact-on-migration-and-asylum"),
        )
        == "May 2024"
    )
