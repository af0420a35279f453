"""No file the site writes for spreadsheets runs a formula (CSV injection): the officers' CSV and
XLSX exports, the explorer's CSV and the API's CSV all write formula-like text as text, and an
officer's export imported back changes nothing."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.contrib.admin import site
from django.db.models import CharField, SlugField, TextField

from funding.models import FundingRecord
from migrationsupport.models import Status
from migrationsupport.spreadsheets import FORMULA_STARTS, safe_cell, unescape_cell
from tests.admin.test_import_export import CSV_FORMAT, XLSX_FORMAT, confirm, csv_rows, dry_run, export
from tests.api.support import ENDPOINTS
from tests.factories import FundingRecordFactory, RegionFactory

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("https://evil.example","Click")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1"]


@pytest.fixture
def records():
    return [
        FundingRecordFactory(slug=f"formula-{n}", title=formula, description=formula, status=Status.PUBLISHED)
        for n, formula in enumerate(FORMULAS)
    ]


def _titles_as_written(rows: list[dict]) -> set[str]:
    return {row["title"] for row in rows}


def test_formula_like_text_gets_an_apostrophe_and_numbers_do_not():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("-12.5") == "-12.5" and safe_cell(-12) == -12
    assert safe_cell("Plain") == "Plain"
    assert unescape_cell(safe_cell("=1+1")) == "=1+1" and unescape_cell("'quoted") == "'quoted"


def test_officers_csv_export_writes_formulas_as_text(editor_client, records):
    written = _titles_as_written(csv_rows(export(editor_client, FundingRecord)))
    assert written == {"'" + formula for formula in FORMULAS}


def test_officers_xlsx_export_has_no_formula_cell(editor_client, records):
    response = export(editor_client, FundingRecord, file_format=XLSX_FORMAT)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    header = [cell.value for cell in next(sheet.iter_rows())]
    titles = {row[header.index("title")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert titles == {"'" + formula for formula in FORMULAS}


def test_an_exported_file_imported_back_changes_nothing(publisher_client, records):
    rows = csv_rows(export(publisher_client, FundingRecord))
    preview = dry_run(publisher_client, FundingRecord, rows)
    kinds = {row.import_type for row in preview.context["result"].rows}
    assert kinds == {"skip"}, kinds  # every row is the record as stored: nothing to change
    confirm(publisher_client, FundingRecord, preview)
    assert set(FundingRecord.objects.values_list("title", flat=True)) == set(FORMULAS)


@pytest.mark.parametrize("url", ["/funding/export.csv", "/api/v1/funding/?format=csv"])
def test_public_csv_writes_formulas_as_text(client, records, url):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert _titles_as_written(rows) == {"'" + formula for formula in FORMULAS}


# --- Every CSV and XLSX, with a formula in every free-text field ---------------------------------

PAYLOAD = "=1+2"


def _text_fields(model) -> list[str]:
    """Fields an officer types free text into: not identifiers (used in addresses), not choices."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, CharField | TextField)
        and not isinstance(field, SlugField)
        and not field.choices
        and not field.unique
        and field.name != "iso_code"
    ]


def _with_formulas(endpoint) -> object:
    obj = endpoint.make()
    # As a hostile import or a careless paste could leave them, past the form's validation.
    type(obj).objects.filter(pk=obj.pk).update(**dict.fromkeys(_text_fields(type(obj)), PAYLOAD))
    return obj


def _unsafe(cells) -> list[str]:
    return [c for c in cells if isinstance(c, str) and c.startswith(FORMULA_STARTS) and safe_cell(c) != c]


def _csv_cells(body: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def test_every_public_csv_writes_a_formula_in_any_text_field_as_text(client):
    for endpoint in ENDPOINTS.values():
        _with_formulas(endpoint)
    # The explorer's totals are labelled by region names (unique: not in _text_fields).
    FundingRecordFactory(amount=1, regions=[RegionFactory(name=PAYLOAD, slug="formula-region")])
    downloads = {
        **{e.list_url(): client.get(e.list_url(), {"format": "csv"}) for e in ENDPOINTS.values()},
        "/funding/export.csv": client.get("/funding/export.csv"),
        "/funding/totals.csv": client.get("/funding/totals.csv"),
    }
    for url, response in downloads.items():
        assert response.status_code == 200, url
        cells = _csv_cells(response.getvalue())
        assert not _unsafe(cells), url
        assert "'" + PAYLOAD in cells, url  # the payload reached the file, escaped


@pytest.mark.parametrize("file_format", [CSV_FORMAT, XLSX_FORMAT])
def test_every_officers_export_writes_a_formula_in_any_text_field_as_text(editor_client, file_format):
    admins = site._registry
    exported = [e for e in ENDPOINTS.values() if getattr(admins.get(e.model), "resource_classes", None)]
    assert exported
    for endpoint in exported:
        _with_formulas(endpoint)
        response = export(editor_client, endpoint.model, file_format=file_format)
        if file_format == XLSX_FORMAT:
            sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
            assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
            cells = [value for row in sheet.iter_rows(values_only=True) for value in row]
        else:
            cells = _csv_cells(response.getvalue())
        assert not _unsafe(cells), endpoint.model
        assert "'" + PAYLOAD in cells, endpoint.model
