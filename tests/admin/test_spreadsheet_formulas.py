"""No file the site writes for spreadsheets runs a formula (CSV injection): the officers' CSV and
XLSX exports, the explorer's CSV and the API's CSV all write formula-like text as text, and an
officer's export imported back changes nothing."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from funding.models import FundingRecord
from migrationsupport.models import Status
from migrationsupport.spreadsheets import safe_cell, unescape_cell
from tests.admin.test_import_export import XLSX_FORMAT, confirm, csv_rows, dry_run, export
from tests.factories import FundingRecordFactory

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
