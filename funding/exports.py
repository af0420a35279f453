"""Funding records as CSV rows: one column list, used by the explorer's download (written by
``migrationsupport.spreadsheets``, like every CSV of the site).

The amount is the exact decimal in EUR with its qualifier beside it, never a rounded text; the
period and dates are ISO 8601 truncated to what is known ("2024", "2023-06"); related records
are given by their stable identifiers (slugs, ISO codes) joined with ``LIST_SEPARATOR``. The
records come from ``for_public()``: a related record that is a draft is already left out (an
empty cell for a to-one relation, as if it were not set yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from migrationsupport.spreadsheets import join_list

from .models import FundingRecord


def _slugs(manager) -> str:
    return join_list(obj.slug for obj in manager.all())


def _iso(record: FundingRecord, name: str) -> str:
    value = record.partial_date(name)
    return value.isoformat() if value else ""


def _slug(obj) -> str:
    return obj.slug if obj is not None else ""


def _source(record: FundingRecord, name: str) -> str:
    # A draft source reads as missing (``for_public()``): the relation cannot be None otherwise.
    source = getattr(record, "source", None)
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
    ("instrument", lambda r: _slug(r.instrument)),
    ("conference", lambda r: _slug(r.conference)),
    ("parent", lambda r: _slug(r.parent)),
    ("regions", lambda r: _slugs(r.regions)),
    ("countries", lambda r: join_list(c.iso_code for c in r.countries.all())),
    ("themes", lambda r: _slugs(r.themes)),
    ("source_title", lambda r: _source(r, "title")),
    ("source_url", lambda r: _source(r, "url")),
)
# Columns added after ``page_url`` (the header above is what existing readers expect).
FUNDING_CSV_LATER_COLUMNS: tuple[tuple[str, Callable[[FundingRecord], object]], ...] = (
    ("measure", lambda r: r.measure),
    ("source_passage", lambda r: r.source_passage),
    ("may_overlap", lambda r: _slugs(r.may_overlap)),
)
FUNDING_CSV_HEADER = [
    *(name for name, _ in FUNDING_CSV_COLUMNS),
    "page_url",
    *(name for name, _ in FUNDING_CSV_LATER_COLUMNS),
]


def funding_csv_rows(
    records: Iterable[FundingRecord], *, absolute_url: Callable[[str], str] = str
) -> Iterator[Sequence[object]]:
    """The header, then one row per record in the order given (``for_public()`` records, with
    ``may_overlap`` prefetched published too)."""
    yield FUNDING_CSV_HEADER
    for record in records:
        yield [
            *(value(record) for _, value in FUNDING_CSV_COLUMNS),
            absolute_url(record.get_absolute_url()),
            *(value(record) for _, value in FUNDING_CSV_LATER_COLUMNS),
        ]
