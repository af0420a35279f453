"""The data migration that takes back the statuses and wording the seed does not state (issue 13)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from regions.models import LIST_NOT_GIVEN, Country, PopulationFigure, Region
from tests.factories import CountryFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
migration = importlib.import_module("regions.migrations.0005_seed_statuses_not_stated")


def forwards():
    """Run the migration's function with the models as the migration sees them (no signals)."""
    state = MigrationLoader(connection).project_state(
        ("regions", "0005_seed_statuses_not_stated"), at_end=True
    )
    migration.forwards(state.apps, None)


OLD_CANDIDATES = ["TR", "AL", "BA", "ME", "MK", "RS"]


@pytest.fixture
def old_seed():
    """The seed as the old fixtures loaded it: the statuses and wording issue 13 takes back."""
    names = ("01_sources.json", "02_themes_sections.json", "03_regions.json", "04_countries.json")
    call_command("loaddata", *(str(FIXTURES / name) for name in names), verbosity=0)
    Country.objects.exclude(iso_code="BY").update(cooperation_status="active")
    Country.objects.filter(iso_code__in=OLD_CANDIDATES).update(candidate_status="candidate")
    Country.objects.exclude(iso_code__in=[*OLD_CANDIDATES, "MD", "UA", "GE"]).update(candidate_status="none")
    PopulationFigure.objects.update(origins_non_exhaustive=False)
    for region in Region.objects.all():
        region.body = region.body.replace(f" <em>{LIST_NOT_GIVEN}</em>", "")
        Region.objects.filter(pk=region.pk).update(body=region.body)


def history_rows(model) -> int:
    return model.history.count()


def test_unstated_statuses_become_not_stated_and_the_seeds_stay(old_seed):
    forwards()

    stated = Country.objects.exclude(candidate_status="not_stated", cooperation_status="not_stated")
    assert {(c.iso_code, c.candidate_status, c.cooperation_status) for c in stated} == {
        ("MD", "candidate", "not_stated"),
        ("UA", "candidate", "not_stated"),
        ("GE", "candidate", "not_stated"),
        ("BY", "not_stated", "suspended"),
    }
    belarus = Country.objects.get(iso_code="BY")
    assert str(belarus.partial_date("cooperation_suspended_since")) == "2020"
    assert belarus.cooperation_note.startswith("<p>Cooperation with Belarus has been suspended since 2020")


def test_a_value_an_officer_recorded_is_kept(old_seed):
    Country.objects.filter(iso_code="TR").update(candidate_status="potential")
    elsewhere = CountryFactory(iso_code="XK", candidate_status="none", cooperation_status="active")

    forwards()

    assert Country.objects.get(iso_code="TR").candidate_status == "potential"
    elsewhere.refresh_from_db()  # cites another source: not the seed's to take back
    assert (elsewhere.candidate_status, elsewhere.cooperation_status) == ("none", "active")


def test_each_change_is_kept_in_the_history_and_a_second_run_changes_nothing(old_seed):
    before = {model: history_rows(model) for model in (Country, PopulationFigure, Region)}
    syria_version = Country.objects.get(iso_code="SY").version

    forwards()

    # Every seeded country changes (Belarus its candidacy, Moldova, Ukraine and Georgia their
    # cooperation, the others both), one figure, three region texts.
    assert history_rows(Country) - before[Country] == 17
    assert history_rows(PopulationFigure) - before[PopulationFigure] == 1
    assert history_rows(Region) - before[Region] == 3
    syria = Country.objects.get(iso_code="SY")
    entry = syria.history.latest()
    assert (entry.history_type, entry.history_user) == ("~", None)
    assert entry.history_change_reason == migration.REASON_STATUS
    assert (entry.candidate_status, entry.cooperation_status) == ("not_stated", "not_stated")
    assert syria.version == entry.version == syria_version + 1
    figure = PopulationFigure.objects.get(slug="turkiye-asylum-seekers-refugees-other-countries")
    assert figure.origins_non_exhaustive
    snapshot = figure.history.latest()
    assert snapshot.history_change_reason == migration.REASON_ORIGINS
    assert {o.country.iso_code for o in snapshot.origins.all()} == {"IQ", "AF", "IR", "SO"}
    north_africa = Region.objects.get(slug="north-africa")
    assert north_africa.body.endswith(f"two main financing instruments: <em>{LIST_NOT_GIVEN}</em></p>")
    assert north_africa.history.latest().body == north_africa.body

    after = {model: history_rows(model) for model in (Country, PopulationFigure, Region)}
    forwards()
    assert {model: history_rows(model) for model in after} == after


def test_a_list_an_officer_has_added_is_not_called_missing(old_seed):
    region = Region.objects.get(slug="north-africa")
    with_list = region.body.replace(
        "instruments:</p>", "instruments:</p><ul><li>NDICI-Global Europe</li><li>EUTF</li></ul>"
    )
    Region.objects.filter(pk=region.pk).update(body=with_list)

    forwards()

    assert Region.objects.get(pk=region.pk).body == with_list
