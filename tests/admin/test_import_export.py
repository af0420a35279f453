"""Import and export in the admin: filtered CSV/XLSX exports, dry-run previews, all-or-nothing imports."""

from __future__ import annotations

import csv
import datetime
import io
from urllib.parse import urlencode

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from agreements.models import Agreement
from funding.models import FundingRecord
from migrationsupport import services
from migrationsupport.models import Status
from regions.models import Country
from tests.admin.conftest import admin_url
from tests.factories import AgreementFactory, CountryFactory, FundingRecordFactory, RegionFactory

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = 0, 1


def export(client, model, params=None, file_format=CSV_FORMAT):
    url = admin_url(model, "export") + ("?" + urlencode(params) if params else "")
    form = client.get(url).context["form"]
    data = {name: field.initial for name, field in form.fields.items() if field.initial not in (None, "")}
    data.update(format=file_format, resource=0)
    response = client.post(url, data)
    assert response.status_code == 200, response.getvalue()[:500]
    return response


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.getvalue().decode("utf-8-sig"))))


def csv_file(rows: list[dict]) -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile("records.csv", out.getvalue().encode(), content_type="text/csv")


def dry_run(client, model, rows):
    response = client.post(
        admin_url(model, "import"), {"import_file": csv_file(rows), "format": CSV_FORMAT, "resource": 0}
    )
    assert response.status_code == 200
    return response


def confirm(client, model, preview):
    confirm_form = preview.context["confirm_form"]
    assert confirm_form is not None, "the preview offered no confirmation"
    data = {
        name: confirm_form.initial.get(name, field.initial) for name, field in confirm_form.fields.items()
    }
    return client.post(admin_url(model, "process_import"), data, follow=True)


def row_kinds(preview) -> list[str]:
    return [row.import_type for row in preview.context["result"].rows]


# --- Export ----------------------------------------------------------------------------------


def test_csv_export_follows_the_changelist_filters(editor_client):
    region = RegionFactory(slug="sahel")
    package = FundingRecordFactory(kind="package", title="A package", regions=[region])
    FundingRecordFactory(kind="programme", title="A programme")
    rows = csv_rows(export(editor_client, FundingRecord, {"kind__exact": "package"}))
    assert [row["slug"] for row in rows] == [package.slug]
    row = rows[0]
    assert row["regions"] == "sahel"
    assert row["source"] == package.source.slug
    assert (row["status"], row["version"]) == ("published", str(package.version))


def test_csv_export_follows_the_search(editor_client):
    FundingRecordFactory(title="Education programme")
    FundingRecordFactory(title="Border management")
    rows = csv_rows(export(editor_client, FundingRecord, {"q": "Education"}))
    assert [row["title"] for row in rows] == ["Education programme"]


def test_xlsx_export_of_agreements(editor_client):
    AgreementFactory(
        title="Readmission", parties=[CountryFactory(iso_code="TR"), CountryFactory(iso_code="GE")]
    )
    response = export(editor_client, Agreement, file_format=XLSX_FORMAT)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = list(sheet.values)
    assert "parties" in header and len(rows) == 1
    assert set(rows[0][header.index("parties")].split(";")) == {"TR", "GE"}


def test_country_export_is_keyed_by_iso_code(editor_client):
    CountryFactory(iso_code="MD", name="Moldova")
    rows = csv_rows(export(editor_client, Country))
    assert rows[0]["iso_code"] == "MD" and rows[0]["name"] == "Moldova"


# --- Import ----------------------------------------------------------------------------------


def test_dry_run_previews_new_updated_and_rejected_rows_and_writes_nothing(editor_client, source):
    existing = FundingRecordFactory(status=Status.DRAFT, slug="existing", title="Old", source=source)
    rows = [
        {
            "slug": "new-one",
            "title": "New",
            "amount": "10",
            "measure": "paid",
            "source": source.slug,
            "countries": "",
        },
        {
            "slug": "existing",
            "title": "Updated",
            "amount": "1000000.00",
            "measure": "committed",
            "source": source.slug,
            "countries": "",
        },
        {"slug": "bad", "title": "Bad", "amount": "-5", "source": source.slug, "countries": "ZZ"},
    ]
    preview = dry_run(editor_client, FundingRecord, rows)
    result = preview.context["result"]
    assert result.has_validation_errors()
    assert preview.context.get("confirm_form") is None  # a file with a bad row cannot be confirmed
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert list(invalid) == [3]
    content = preview.content.decode()
    assert "An amount cannot be negative." in content
    assert "Unknown countries: ZZ." in content
    assert not FundingRecord.objects.filter(slug="new-one").exists()
    existing.refresh_from_db()
    assert existing.title == "Old"


def test_good_file_previews_then_imports_as_drafts_for_an_editor(editor, editor_client, source):
    region = RegionFactory(slug="north-africa")
    country = CountryFactory(iso_code="TN")
    rows = [
        {
            "slug": "a",
            "title": "A",
            "amount": "10",
            "measure": "pledged",
            "source": source.slug,
            "regions": "north-africa",
            "countries": "tn",
            "status": "published",
        },
        {
            "slug": "b",
            "title": "B",
            "amount": "",
            "source": source.slug,
            "regions": "",
            "countries": "",
            "status": "draft",
        },
    ]
    preview = dry_run(editor_client, FundingRecord, rows)
    assert row_kinds(preview) == ["new", "new"]
    assert not FundingRecord.objects.exists()

    response = confirm(editor_client, FundingRecord, preview)
    assert response.status_code == 200
    a, b = FundingRecord.objects.order_by("slug")
    assert (a.status, b.status) == (Status.DRAFT, Status.DRAFT)  # an Editor's rows start as drafts
    assert list(a.regions.all()) == [region] and list(a.countries.all()) == [country]
    entry = a.history.latest()
    assert (entry.history_user, entry.history_change_reason) == (editor, "Imported from a file")


def test_a_publishers_import_keeps_the_files_status(publisher_client, source):
    rows = [{"slug": "c", "title": "C", "source": source.slug, "status": "published"}]
    confirm(publisher_client, FundingRecord, dry_run(publisher_client, FundingRecord, rows))
    assert FundingRecord.objects.get(slug="c").status == Status.PUBLISHED


def test_a_file_whose_row_fails_at_confirmation_imports_nothing(editor_client, publisher, source):
    first = FundingRecordFactory(status=Status.DRAFT, slug="first", title="First", source=source)
    second = FundingRecordFactory(status=Status.DRAFT, slug="second", title="Second", source=source)
    rows = [
        {"slug": "first", "title": "First, edited", "source": source.slug},
        {"slug": "second", "title": "Second, edited", "source": source.slug},
        {"slug": "third", "title": "Third", "source": source.slug},
    ]
    preview = dry_run(editor_client, FundingRecord, rows)
    assert row_kinds(preview) == ["update", "update", "new"]

    # Between the preview and the confirmation a Publisher publishes the second record.
    services.publish(instance=second, user=publisher)

    response = confirm(editor_client, FundingRecord, preview)
    assert "Nothing was imported" in response.content.decode()
    first.refresh_from_db()
    assert first.title == "First"
    assert not FundingRecord.objects.filter(slug="third").exists()


def test_an_editor_cannot_change_a_published_record_by_import(editor_client, source):
    FundingRecordFactory(status=Status.PUBLISHED, slug="public", title="Public", source=source)
    unchanged = [{"slug": "public", "title": "Public", "source": source.slug, "status": "published"}]
    assert row_kinds(dry_run(editor_client, FundingRecord, unchanged)) == ["skip"]
    changed = [{"slug": "public", "title": "Rewritten", "source": source.slug, "status": "published"}]
    preview = dry_run(editor_client, FundingRecord, changed)
    assert row_kinds(preview) == ["invalid"]
    assert "is published: only a Publisher can change it" in preview.content.decode()


def test_an_editor_cannot_publish_by_import(editor_client, source):
    FundingRecordFactory(status=Status.DRAFT, slug="quiet", source=source)
    rows = [{"slug": "quiet", "status": "published"}]
    preview = dry_run(editor_client, FundingRecord, rows)
    assert "Only a Publisher can publish or unpublish a record." in preview.content.decode()


def test_a_row_from_an_old_export_cannot_overwrite_a_later_edit(editor_client, publisher, source):
    record = FundingRecordFactory(status=Status.DRAFT, slug="busy", title="v1", source=source)
    exported_version = record.version
    record.title, record._history_user = "Changed by Paula", publisher
    record.save()
    rows = [{"slug": "busy", "title": "Mine", "version": exported_version}]
    preview = dry_run(editor_client, FundingRecord, rows)
    assert row_kinds(preview) == ["invalid"]
    assert "Paula Publisher changed this record on" in preview.content.decode()


def test_country_import_validates_iso_codes(editor_client, source):
    rows = [{"iso_code": "turkey", "name": "Türkiye", "slug": "turkiye", "source": source.slug}]
    preview = dry_run(editor_client, Country, rows)
    assert row_kinds(preview) == ["invalid"]
    assert "two-letter ISO 3166-1 alpha-2 code" in preview.content.decode()


def test_agreement_import_names_parties_by_iso_code(editor_client, source):
    CountryFactory(iso_code="BY")
    rows = [
        {
            "slug": "vfa-by",
            "title": "Visa facilitation",
            "kind": "visa_facilitation",
            "parties": "BY",
            "source": source.slug,
        }
    ]
    confirm(editor_client, Agreement, dry_run(editor_client, Agreement, rows))
    agreement = Agreement.objects.get(slug="vfa-by")
    assert [c.iso_code for c in agreement.parties.all()] == ["BY"]
    assert agreement.status == Status.DRAFT


def test_xlsx_import_previews_rows(editor_client, source):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["slug", "title", "source"])
    sheet.append(["from-excel", "From Excel", source.slug])
    content = io.BytesIO()
    book.save(content)
    upload = SimpleUploadedFile("records.xlsx", content.getvalue())
    response = editor_client.post(
        admin_url(FundingRecord, "import"), {"import_file": upload, "format": XLSX_FORMAT, "resource": 0}
    )
    assert row_kinds(response) == ["new"]
    confirm(editor_client, FundingRecord, response)
    assert FundingRecord.objects.get(slug="from-excel").status == Status.DRAFT


def test_an_editors_import_cancels_a_schedule(editor_client, source):
    record = FundingRecordFactory(
        status=Status.DRAFT,
        slug="planned",
        source=source,
        publish_at=timezone.now() + datetime.timedelta(days=1),
    )
    rows = [{"slug": "planned", "title": "Edited by file"}]
    confirm(editor_client, FundingRecord, dry_run(editor_client, FundingRecord, rows))
    record.refresh_from_db()
    assert record.title == "Edited by file" and record.publish_at is None
