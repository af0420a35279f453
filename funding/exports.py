"""Funding records as CSV rows: one column list, used by the explorer's download (written by
``migrationsupport.spreadsheets``, like every CSV of the site).

The amount is the exact decimal in EUR with its qualifier beside it, never a rounded text; the
period and dates are ISO 8601 truncated to what is known ("2024", "2023-06"); related records
are given by their stable identifiers (slugs, ISO codes) joined with ``LIST_SEPARATOR``. A
related record that is a draft is left out (an empty cell for a to-one relation, as if it were
not set yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from migrationsupport.models import published_or_none
from migrationsupport.spreadsheets import join_list

from .models import FundingRecord


def _published(manager, key: Callable) -> str:
    return join_list(key(obj) for obj in manager.all() if published_or_none(obj))


def _iso(record: FundingRecord, name: str) -> str:
    value = record.partial_date(name)
    return value.isoformat() if value else ""


def _slug_if_published(obj) -> str:
    obj = published_or_none(obj)
    return obj.slug if obj is not None else ""


def _source(record: FundingRecord, name: str) -> str:
    source = published_or_none(record.source)
    return getattr(source, name) if source is not None else ""


# (header, value) in the order the columns are written. Append new columns at the end only.
FUNDING_CSV_COLUMNS: tuple[tuple[str, Callable[[FundingRecord], object]], ...] = (
    ("slug", lambda r: r.slug),
    ("title", lambda r: r.title),
    ("kind", lambda r: r.kind),
    ("amount_eur", lambda r: "" if r.amount is None else r.amount),
    ("qualifier", lambda r: r.qualifier if r.amount is not None else ""),
    ("qualifier_wording", lambda r: r.amount_display.words if r.amount_display is not None else ""),
    ("amount_text", lambda r: str(r.amount_display or "")),
    ("period_start", lambda r: _iso(r, "period_start")),
    ("period_end", lambda r: _iso(r, "period_end")),
    ("period_text", lambda r: r.period_display),
    ("donor", lambda r: r.donor),
    ("implementer", lambda r: r.implementer),
    ("instrument", lambda r: _slug_if_published(r.instrument)),
    ("conference", lambda r: _slug_if_published(r.conference)),
    ("parent", lambda r: _slug_if_published(r.parent)),
    ("regions", lambda r: _published(r.regions, lambda o: o.slug)),
    ("countries", lambda r: _published(r.countries, lambda o: o.iso_code)),
    ("themes", lambda r: _published(r.themes, lambda o: o.slug)),
    ("source_title", lambda r: _source(r, "title")),
    ("source_url", lambda r: _source(r, "url")),
)
# Columns added after ``page_url`` (the header above is what existing readers expect).
FUNDING_CSV_LATER_COLUMNS: tuple[tuple[str, Callable[[FundingRecord], object]], ...] = (
    ("measure", lambda r: r.measure),
    ("source_passage", lambda r: r.source_passage),
    ("may_overlap", lambda r: _published(r.may_overlap, lambda o: o.slug)),
)
FUNDING_CSV_HEADER = [
    *(name for name, _ in FUNDING_CSV_COLUMNS),
    "page_url",
    *(name for name, _ in FUNDING_CSV_LATER_COLUMNS),
]


def funding_csv_rows(
    records: Iterable[FundingRecord], *, absolute_url: Callable[[str], str] = str
) -> Iterator[Sequence[object]]:
    """The header, then one row per record in the order given (use ``for_listing()`` records)."""
    yield FUNDING_CSV_HEADER
    for record in records:
        yield [
            *(value(record) for _, value in FUNDING_CSV_COLUMNS),
            absolute_url(record.get_absolute_url()),
            *(value(record) for _, value in FUNDING_CSV_LATER_COLUMNS),
        ]
