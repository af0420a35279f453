"""Lists as CSV: the renderer a viewset adds for its ``csv_actions`` (``?format=csv`` or
``Accept: text/csv``), the header a serializer gives (``csv_columns``) and how nested JSON rows
become flat rows for the site's one CSV writer (``migrationsupport.spreadsheets``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rest_framework import serializers
from rest_framework.renderers import BaseRenderer

from ..spreadsheets import csv_lines


def flatten(row: dict, prefix: str = "") -> dict[str, object]:
    """``{"source": {"title": ...}, "regions": ["a", "b"]}`` → ``{"source_title": ..., "regions": [...]}``."""
    flat: dict[str, object] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


def csv_table(
    rows: Iterable[dict], columns: list[str] | None = None, aliases: dict[str, str] | None = None
) -> Iterator[list]:
    """The header, then each JSON row flattened into ``columns`` (by default every key seen);
    a column named in ``aliases`` repeats the column it names (``csv_aliases``)."""
    flat_rows: Iterable[dict] = (flatten(row) for row in rows)
    if columns is None:  # every key seen: the whole (small, not streamed) answer first
        flat_rows = list(flat_rows)
        columns = list(dict.fromkeys(key for row in flat_rows for key in row))
    yield columns
    sources = [(aliases or {}).get(column, column) for column in columns]
    for flat in flat_rows:
        yield [flat.get(source) for source in sources]


def csv_document(rows: Iterable[dict], columns: list[str] | None = None) -> str:
    """A small answer's JSON rows as one CSV text (``csv_table``'s rows in the site's dialect),
    for what is not streamed: the API's totals and the explorer's ``/funding/totals.csv``."""
    return "".join(csv_lines(csv_table(rows, columns)))


def csv_aliases(serializer: serializers.Serializer) -> dict[str, str]:
    """CSV columns of API 1.0 kept until 1.2, after the others: a partial date ``<name>`` was
    the column ``<name>_date`` (a flattened object), e.g. ``period_start_date``, ``date_date``."""
    return {
        f"{name}_date": name
        for name, field in serializer.fields.items()
        if getattr(field, "csv_alias_date", False) and f"{name}_date" not in serializer.fields
    }


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
        elif subfields := getattr(field, "csv_subfields", None):
            columns += [f"{name}_{sub}" for sub in subfields]
        else:
            columns.append(name)
    return columns + list(csv_aliases(serializer))


class CSVRenderer(BaseRenderer):
    """An answer as CSV: one row per record, the columns of ``view.get_csv_columns()`` in order.

    Lists are streamed by ``PublishableViewSet.list`` and never reach this renderer; it writes the
    smaller answers (``/funding/totals/``) in the same dialect.
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
        return csv_document(rows, columns).encode(self.charset)
