"""Funding's record types in the site search (registered in ``FundingConfig.ready()``)."""

from __future__ import annotations

from migrationsupport.search import RecordType, plain

from .models import FundingRecord, Instrument, PledgingConference


def _funding_summary(record: FundingRecord) -> str:
    figure = " ".join(str(part) for part in (record.amount_display, record.period_display) if part)
    return " – ".join(part for part in (figure, plain(record.description, 25)) if part)


RECORD_TYPES = (
    RecordType(
        "Funding",
        lambda: FundingRecord.objects.published(),
        "title",
        ("description", "implementer"),
        summary=_funding_summary,
        title=lambda r: r.title,
        position=30,
        country_code_field="countries__iso_code",
        country_list=("funding:explorer", "the funding explorer"),
        document_column="search_document",
        sentence_titles=True,
    ),
    RecordType(
        "Financing instruments",
        lambda: Instrument.objects.published(),
        "name",
        ("short_name", "description"),
        title=lambda i: i.name,
        summary=lambda i: plain(i.description),
        position=60,
    ),
    RecordType(
        "Pledging conferences",
        lambda: PledgingConference.objects.published(),
        "name",
        ("place", "host"),
        summary=lambda c: ", ".join(str(part) for part in (c.date_display, c.place) if part),
        position=70,
    ),
)
