"""Funding records as CSV rows: one column list, used by the explorer's download (written by
``migrationsupport.spreadsheets``, like every CSV of the site).

The amount is the exact decimal in EUR with its qualifier beside it, never a rounded text; the
period and dates are ISO 8601 truncated to what is known ("2024", "2023-06"); related records
are given by their stable identifiers (slugs, ISO codes) joined with ``LIST_SEPARATOR``. As on
the public pages (``for_public()``), a related record that is a draft is left out (an empty
cell for a to-one relation, as if it were not set yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from django.db.models import QuerySet

from migrationsupport.addresses import address_template, filled
from migrationsupport.chunks import RelatedValues, records_in_chunks
from migrationsupport.models import published_q, published_value
from migrationsupport.spreadsheets import join_list
from migrationsupport.values import Amount, PartialDateText, partial_date_text, period_text

from .models import FundingRecord

#: To-one relations written by an identifier (``csv_<name>``): empty while the record is a draft.
_TO_ONE = {"instrument": "slug", "conference": "slug", "parent": "slug", "source": ("title", "url")}
#: To-many relations written as identifiers (``csv_<name>``), published records only.
_TO_MANY = {"regions": "slug", "countries": "iso_code", "themes": "slug", "may_overlap": "slug"}


def _iso(record: FundingRecord, name: str) -> str:
    value = record.partial_date(name)
    return value.isoformat() if value else ""


def _annotated(name: str) -> Callable[[FundingRecord], object]:
    return lambda record: getattr(record, f"csv_{name}")


def _list(record: FundingRecord, name: str) -> str:
    return join_list(getattr(record, f"csv_{name}"))


def _precision(record: FundingRecord, name: str) -> str:
    value = record.partial_date(name)
    return value.precision if value else ""


# (header, value) in the order the columns are written: the API's names for the same values
# (docs/api.md), so this file and the API's ``/funding/?format=csv`` read alike. What each cell
# holds, read from a record (``for_public()``, with ``csv_<name>`` set): ``funding_csv_rows``
# writes the same from plain values, and tests/funding/test_exports.py holds it to these.
FUNDING_CSV_COLUMNS: tuple[tuple[str, Callable[[FundingRecord], object]], ...] = (
    ("slug", lambda r: r.slug),
    ("title", lambda r: r.title),
    ("kind", lambda r: r.kind),
    ("amount", lambda r: "" if r.amount is None else r.amount),
    ("qualifier", lambda r: r.qualifier if r.amount is not None else ""),
    ("wording", lambda r: r.wording),
    ("measure", lambda r: r.measure),
    ("currency", lambda r: "EUR"),
    ("amount_display", lambda r: str(r.amount_display or "")),
    ("period_start", lambda r: _iso(r, "period_start")),
    ("period_start_precision", lambda r: _precision(r, "period_start")),
    ("period_end", lambda r: _iso(r, "period_end")),
    ("period_end_precision", lambda r: _precision(r, "period_end")),
    ("period_display", lambda r: r.period_display),
    ("donor", lambda r: r.donor),
    ("implementer", lambda r: r.implementer),
    ("instrument", _annotated("instrument")),
    ("conference", _annotated("conference")),
    ("regions", lambda r: _list(r, "regions")),
    ("countries", lambda r: _list(r, "countries")),
    ("themes", lambda r: _list(r, "themes")),
    ("parent", _annotated("parent")),
    ("may_overlap", lambda r: _list(r, "may_overlap")),
    ("source_title", _annotated("source_title")),
    ("source_url", _annotated("source_url")),
    ("source_passage", lambda r: r.source_passage),
)
# The names of version 1.0 of this file, kept until 1.2 after ``url`` (docs/api.md).
FUNDING_CSV_DEPRECATED_COLUMNS: tuple[tuple[str, Callable[[FundingRecord], object]], ...] = (
    ("amount_eur", lambda r: "" if r.amount is None else r.amount),
    ("qualifier_wording", lambda r: r.amount_display.words if r.amount_display is not None else ""),
    ("amount_text", lambda r: str(r.amount_display or "")),
    ("period_text", lambda r: r.period_display),
)
FUNDING_CSV_HEADER = [
    *(name for name, _ in FUNDING_CSV_COLUMNS),
    "url",
    *(name for name, _ in FUNDING_CSV_DEPRECATED_COLUMNS),
    "page_url",
]


#: The record's own columns the rows read, in the order of ``_row``'s unpacking.
_FIELDS = (
    "pk",
    "slug",
    "title",
    "kind",
    "amount",
    "qualifier",
    "wording",
    "measure",
    "period_start",
    "period_start_precision",
    "period_end",
    "period_end_precision",
    "donor",
    "implementer",
    "source_passage",
)


#: The texts of a missing partial date: empty cells.
_NO_DATE = PartialDateText("", "", "")


def funding_csv_rows(
    records: QuerySet[FundingRecord], *, absolute_url: Callable[[str], str] = str
) -> Iterator[Sequence[object]]:
    """The header, then one row per published record of ``records`` in their order, read
    ``CSV_CHUNK`` at a time: the record's columns as plain values (no model instance), related
    records' identifiers as columns of the same query and one query per chunk and to-many
    relation (``migrationsupport.chunks``), never as related instances, so the whole table
    streams in seconds. Each cell is what ``FUNDING_CSV_COLUMNS`` reads from the record
    (tests/funding/test_exports.py compares them)."""
    yield FUNDING_CSV_HEADER
    annotations = {}
    for relation, fields in _TO_ONE.items():
        if isinstance(fields, str):
            annotations[f"csv_{relation}"] = published_value(relation, fields)
        else:
            for field in fields:
                annotations[f"csv_{relation}_{field}"] = published_value(relation, field)
    queryset = (
        records.filter(published_q())
        .select_related(None)
        .prefetch_related(None)
        .annotate(**annotations)
        .values_list(*_FIELDS, *annotations)
    )
    related = {
        name: RelatedValues(FundingRecord, name, field, drafts=False) for name, field in _TO_MANY.items()
    }
    # The page's address, with one reverse() per download: the slug put into a placeholder's.
    page = address_template(lambda slug: FundingRecord(slug=slug).get_absolute_url())
    no_values: tuple = ()
    for chunk, many in records_in_chunks(queryset, related):
        regions, countries, themes, may_overlap = (many[name] for name in _TO_MANY)
        for (
            pk,
            slug,
            title,
            kind,
            amount,
            qualifier,
            wording,
            measure,
            start,
            start_precision,
            end,
            end_precision,
            donor,
            implementer,
            passage,
            instrument,
            conference,
            parent,
            source_title,
            source_url,
        ) in chunk:
            if amount is None:
                amount_cell = qualifier_cell = amount_text = words = ""
            else:
                amount_cell, qualifier_cell = amount, qualifier
                display = Amount(amount, qualifier, wording)
                amount_text, words = str(display), display.words
            start_text = _NO_DATE if start is None else partial_date_text(start, start_precision)
            end_text = _NO_DATE if end is None else partial_date_text(end, end_precision)
            period = period_text(start, start_precision, end, end_precision)
            url = absolute_url(filled(page, slug) or FundingRecord(slug=slug).get_absolute_url())
            yield [
                slug,
                title,
                kind,
                amount_cell,
                qualifier_cell,
                wording,
                measure,
                "EUR",
                amount_text,
                start_text.iso,
                start_text.precision,
                end_text.iso,
                end_text.precision,
                period,
                donor,
                implementer,
                instrument,
                conference,
                join_list(regions.get(pk, no_values)),
                join_list(countries.get(pk, no_values)),
                join_list(themes.get(pk, no_values)),
                parent,
                join_list(may_overlap.get(pk, no_values)),
                source_title,
                source_url,
                passage,
                url,
                amount_cell,  # amount_eur
                words,  # qualifier_wording
                amount_text,  # amount_text
                period,  # period_text
                url,  # page_url
            ]
