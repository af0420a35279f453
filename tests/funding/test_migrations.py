"""The data migration that says what each seed figure measures and where it comes from (issue 13)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from funding.models import FundingRecord

pytestmark = pytest.mark.django_db

FIXTURES = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "fixtures").glob("*.json"))
SOURCE_TEXT = (
    Path(__file__).resolve().parents[2] / "fixtures" / "sources" / "000_d7b9f8ecbda8834c.txt"
).read_text(encoding="utf-8")
migration = importlib.import_module("funding.migrations.0006_seed_measures_passages_overlap")


def forwards():
    state = MigrationLoader(connection).project_state(
        ("funding", "0006_seed_measures_passages_overlap"), at_end=True
    )
    migration.forwards(state.apps, None)


@pytest.fixture
def old_seed():
    """The seed as the old fixtures loaded it: no passages, no overlap, "since June 2023"."""
    call_command("loaddata", *FIXTURES, verbosity=0)
    FundingRecord.objects.update(source_passage="")
    FundingRecord.may_overlap.through.objects.all().delete()
    FundingRecord.objects.filter(slug="western-balkans-anti-smuggling-programme").update(
        period_end=None, period_end_precision=""
    )


def test_seed_figures_get_their_passage_point_in_time_and_overlap_with_history(old_seed):
    before = {r.slug: r.history.count() for r in FundingRecord.objects.all()}

    forwards()

    records = {r.slug: r for r in FundingRecord.objects.all()}
    for slug, (measure, passage) in migration.SEED.items():
        assert records[slug].source_passage == passage
        assert passage in SOURCE_TEXT, slug
        assert records[slug].measure == measure
    programme = records["western-balkans-anti-smuggling-programme"]
    assert programme.period_display == "in June 2023"
    assert [r.slug for r in programme.may_overlap.all()] == [
        "western-balkans-migration-management-since-2021"
    ]
    # Every record changed has one more history entry, naming the reason, with its relations.
    for slug, record in records.items():
        assert record.history.count() == before[slug] + 1, slug
    latest = programme.history.latest()
    assert latest.history_change_reason.startswith("Issue 13")
    assert [m.to_fundingrecord_id for m in latest.may_overlap.all()] == [
        records["western-balkans-migration-management-since-2021"].pk
    ]
    assert sorted(r.region_id for r in latest.regions.all()) == sorted(r.pk for r in programme.regions.all())


def test_running_it_again_changes_nothing(old_seed):
    forwards()
    counts = {r.slug: (r.history.count(), r.version) for r in FundingRecord.objects.all()}
    forwards()
    assert {r.slug: (r.history.count(), r.version) for r in FundingRecord.objects.all()} == counts
