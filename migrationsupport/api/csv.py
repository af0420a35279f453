"""Lists as CSV: the renderer a viewset adds for its ``csv_actions`` (``?format=csv`` or
``Accept: text/csv``), the header a serializer gives (``csv_columns``, also used by the funding
page's own export) and how a nested JSON row becomes one flat row of safe spreadsheet cells.
"""

from __future__ import annotations

import csv
import io

from rest_framework import serializers
from rest_framework.renderers import BaseRenderer

from ..spreadsheets import safe_cell

# A CSV download holds the whole filtered set, not a page; past this many rows the client is
# asked to narrow the filters (or page through the JSON), so one request stays bounded.
CSV_MAX_ROWS = 10_000
CSV_LIST_SEPARATOR = ";"


def _csv_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return CSV_LIST_SEPARATOR.join(str(_csv_cell(item)) for item in value)
    return safe_cell(str(value))


def flatten(row: dict, prefix: str = "") -> dict[str, object]:
    """``{"source": {"title": ...}, "regions": ["a", "b"]}`` → ``{"source_title": ..., "regions": "a;b"}``."""
    flat: dict[str, object] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}_"))
        else:
            flat[name] = _csv_cell(value)
    return flat


def csv_columns(serializer: serializers.Serializer) -> list[str]:
    """The CSV header of a serializer: its readable fields in declaration order, nested objects
    flattened to ``parent_child`` (fields say their parts in ``csv_subfields``)."""
    excluded = set(getattr(getattr(serializer, "Meta", None), "csv_exclude", ()))
    columns: list[str] = []
    for name, field in serializer.fields.items():
        if field.write_only or name in excluded:
            continue
        if isinstance(field, serializers.Serializer):
            columns += [f"{name}_{sub}" for sub in csv_columns(field)]
        elif getattr(field, "csv_subfields", None):
            columns += [f"{name}_{sub}" for sub in field.csv_subfields]
        else:
            columns.append(name)
    return columns


class CSVRenderer(BaseRenderer):
    """A list as CSV: one row per record, the columns of ``view.get_csv_columns()`` in order.

    Nested objects become ``parent_child`` columns, lists are joined with ";", booleans are
    ``true``/``false`` and an empty value is an empty cell.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        rows = data if isinstance(data, list) else [data]
        view = (renderer_context or {}).get("view")
        columns = view.get_csv_columns() if hasattr(view, "get_csv_columns") else None
        flat_rows = [flatten(row) for row in rows]
        if columns is None:
            columns = list(dict.fromkeys(key for row in flat_rows for key in row))
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=columns, extrasaction="ignore", restval="", lineterminator="\r\n"
        )
        writer.writeheader()
        writer.writerows(flat_rows)
        return out.getvalue().encode(self.charset)
