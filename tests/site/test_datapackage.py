"""The Frictionless data package at /data/: valid (types, primary and foreign keys, enums) on
factory data, on the seed and on demo data; published records only; streamed with a number of
queries that does not grow with the rows."""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from frictionless import validate

from migrationsupport.models import Status
from migrationsupport.site.catalogue import package_metadata
from migrationsupport.site.datapackage import datapackage_zip
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    FundingRecordFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

FIXTURES = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "fixtures").glob("*.json"))
URL = "/data/eu-migration-support-datapackage.zip"


def download(client, tmp_path: Path) -> Path:
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "datapackage.json"


def rows(descriptor: Path, name: str) -> list[dict[str, str]]:
    with (descriptor.parent / "data" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def assert_valid(descriptor: Path) -> None:
    report = validate(str(descriptor))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])


@pytest.fixture
def records():
    region = RegionFactory(slug="western-balkans")
    serbia = CountryFactory(iso_code="RS", region=region)
    draft_country = CountryFactory(iso_code="ME", region=region, status=Status.DRAFT)
    theme = ThemeFactory(slug="returns")
    whole = FundingRecordFactory(
        slug="whole",
        amount=Decimal("350000000"),
        qualifier="more_than",
        period_start=datetime.date(2021, 1, 1),
        period_start_precision="year",
        regions=[region],
        themes=[theme],
        dac_purpose_code="15190",
    )
    FundingRecordFactory(
        slug="part",
        amount=Decimal("60000000"),
        parent=whole,
        period_start=datetime.date(2023, 6, 1),
        period_start_precision="month",
        period_end=datetime.date(2023, 6, 1),
        period_end_precision="month",
        countries=[serbia, draft_country],
    )
    draft_whole = FundingRecordFactory(slug="draft-whole", status=Status.DRAFT)
    FundingRecordFactory(slug="under-a-draft", parent=draft_whole, amount=Decimal("1"))
    AgreementEventFactory(agreement=AgreementFactory(slug="readmission", parties=[serbia]))


def test_the_package_is_valid_with_foreign_keys_checked(client, records, tmp_path):
    descriptor = download(client, tmp_path)
    assert_valid(descriptor)
    package = json.loads(descriptor.read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    funding = next(r for r in package["resources"] if r["name"] == "funding-records")
    fields = {f["name"]: f for f in funding["schema"]["fields"]}
    assert funding["schema"]["primaryKey"] == ["slug"]
    assert {"fields": "parent", "reference": {"resource": "", "fields": "slug"}} in funding["schema"][
        "foreignKeys"
    ]
    assert fields["measure"]["constraints"]["enum"] == [
        "mobilised",
        "pledged",
        "committed",
        "contracted",
        "paid",
    ]
    assert fields["qualifier"]["constraints"]["enum"] == ["exact", "about", "more_than", "almost"]
    assert fields["period_start_precision"]["constraints"]["enum"] == ["year", "month", "day"]
    assert fields["amount"]["type"] == "number"
    # Derived columns are not data: the site search's stored document is left out.
    names = ("funding-records", "agreements", "documents")
    searchable = [r for r in package["resources"] if r["name"] in names]
    assert len(searchable) == 3
    assert not [r["name"] for r in searchable if "search_document" in str(r["schema"]["fields"])]

    # A broken reference makes it invalid: the foreign keys are checked.
    path = tmp_path / "data" / "funding-records-countries.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",RS", ",ZZ"), encoding="utf-8")
    report = validate(str(descriptor))
    assert not report.valid
    assert "foreign-key" in {error.type for task in report.tasks for error in task.errors}


def test_the_package_holds_published_records_only_and_keeps_partial_dates(client, records, tmp_path):
    descriptor = download(client, tmp_path)
    funding = {row["slug"]: row for row in rows(descriptor, "funding-records")}
    assert set(funding) == {"whole", "part", "under-a-draft"}
    assert funding["under-a-draft"]["parent"] == ""  # its whole is a draft: not named
    assert (funding["part"]["period_start"], funding["part"]["period_start_precision"]) == (
        "2023-06",
        "month",
    )
    assert funding["whole"]["period_start"] == "2021"
    assert (funding["whole"]["amount"], funding["whole"]["qualifier"]) == ("350000000.00", "more_than")
    assert funding["whole"]["dac_purpose_code"] == "15190"
    pairs = rows(descriptor, "funding-records-countries")
    assert pairs == [{"funding_record": "part", "countries": "RS"}]  # not the draft ME
    countries = {row["iso_code"]: row for row in rows(descriptor, "countries")}
    assert (countries["RS"]["iso_alpha3"], countries["RS"]["iso_numeric"]) == ("SRB", "688")
    assert (countries["RS"]["m49_region"], countries["RS"]["m49_subregion"]) == ("150", "039")


def test_the_seed_and_demo_data_make_valid_packages(client, tmp_path):
    call_command("loaddata", *FIXTURES, verbosity=0)
    assert_valid(download(client, tmp_path / "seed"))
    call_command("generate_demo_data", funding=60, verbosity=0)
    descriptor = download(client, tmp_path / "demo")
    assert_valid(descriptor)
    assert len(rows(descriptor, "funding-records")) >= 60


def test_the_package_makes_the_same_queries_whatever_the_number_of_rows(records):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            for _part in datapackage_zip(metadata=package_metadata(absolute_url=str)):
                pass
        return len(captured)

    few = queries()
    for n in range(15):
        FundingRecordFactory(slug=f"more-{n}", countries=[CountryFactory()], themes=[ThemeFactory()])
    # One query per table (14 record types, fulfilment links included, 15 relations), while each
    # has fewer rows than a chunk.
    assert queries() == few == 29
