"""The data migration that gives the seeded agreements the statuses the seed states (issue 13)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from agreements.models import Agreement

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
migration = importlib.import_module("agreements.migrations.0006_seed_agreement_statuses")


def forwards():
    """Run the migration's function with the models as the migration sees them (no signals)."""
    state = MigrationLoader(connection).project_state(
        ("agreements", "0006_seed_agreement_statuses"), at_end=True
    )
    migration.forwards(state.apps, None)


@pytest.fixture
def old_seed():
    """The seeded agreements as the old fixture loaded them."""
    names = ("01_sources.json", "02_themes_sections.json", "03_regions.json", "04_countries.json")
    call_command("loaddata", *(str(FIXTURES / n) for n in (*names, "06_agreements.json")), verbosity=0)
    for slug, changes in migration.CHANGES.items():
        Agreement.objects.filter(slug=slug).update(**{field: old for field, (old, _new) in changes.items()})


def test_the_seeded_agreements_get_the_statuses_the_seed_states(old_seed):
    forwards()

    statuses = dict(Agreement.objects.values_list("slug", "stated_status"))
    assert statuses["frontex-status-agreement-albania"] == "concluded"
    assert statuses["eu-belarus-readmission-agreement"] == ""
    assert statuses["eu-armenia-readmission-agreement"] == "being_implemented"
    assert statuses["eu-belarus-visa-facilitation-agreement"] == "partially_suspended"  # untouched
    georgia = Agreement.objects.get(slug="eu-georgia-visa-liberalisation")
    assert (georgia.title, georgia.stated_status) == ("Cooperation on visa liberalisation with Georgia", "")
    assert "in_force" not in statuses.values() and "ongoing" not in statuses.values()


def test_each_change_is_in_the_history_with_its_parties_and_a_second_run_adds_nothing(old_seed):
    before = Agreement.history.count()

    forwards()

    assert Agreement.history.count() - before == len(migration.CHANGES) == 14
    entry = Agreement.objects.get(slug="eu-belarus-readmission-agreement").history.latest()
    assert (entry.history_type, entry.history_change_reason) == ("~", migration.REASON)
    assert entry.stated_status == ""
    assert [p.country.iso_code for p in entry.parties.all()] == ["BY"]
    assert [t.theme.slug for t in entry.themes.all()] == [
        t.slug for t in Agreement.objects.get(slug="eu-belarus-readmission-agreement").themes.all()
    ]
    forwards()
    assert Agreement.history.count() - before == 14


def test_a_status_an_officer_changed_is_kept(old_seed):
    Agreement.objects.filter(slug="frontex-status-agreement-serbia").update(stated_status="signed")

    forwards()

    assert Agreement.objects.get(slug="frontex-status-agreement-serbia").stated_status == "signed"
