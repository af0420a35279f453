"""Published funding records as IATI 2.03 activities (``iati-activities`` XML), streamed.

How each field maps is in docs/open-data.md; the rules that matter:

- One activity per published record that states a period: the schema requires an activity date
  and full ISO dates, so a record without any period is left out (it stays in the CSV, the JSON
  API and the data package). A partial date is written as the first day of what is known for a
  start and the last day for an end ("2024" → 2024-01-01 … 2024-12-31); its narrative says what
  the source states ("2024", "June 2023").
- Nesting is ``related-activity`` (1 parent, 2 child) and ``@hierarchy`` (1 for a top-level
  record, 2 for its parts...): IATI consumers add transactions of one hierarchy level, which is
  how a part is never counted inside its whole twice (docs/funding-figures.md, rule 4).
- The amount is a transaction only where the measure is one IATI knows (funding-figures rule 1):
  committed and contracted → 2 Outgoing Commitment, paid → 3 Disbursement, pledged → 12 Outgoing
  Pledge (the activities here are the donor's; 13 Incoming Pledge is a recipient's and never
  applies). "Mobilised" totals of several donors have no transaction type: their amount is in the
  description only. The qualifier is never lost: every transaction's narrative is the amount as
  the source words it ("more than €350 million, since 2021").
- Recipient countries and regions carry a percentage only where the share is stated: a record
  with one recipient is 100% for it; a shared figure lists its recipients without shares.
- The source is a ``document-link`` (category A12, the page), its passage the link's description.
"""

from __future__ import annotations

import calendar
import datetime
import html
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree as ET

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.html import strip_tags

from migrationsupport.addresses import address_template, filled
from migrationsupport.chunks import RelatedValues, records_in_chunks
from migrationsupport.models import Theme, published_q
from migrationsupport.values import DatePrecision, PartialDate
from regions.models import Region

from .codes import CURRENCY, dac_purpose_name, iati_organisations
from .models import MAX_NESTING_DEPTH, Donor, FundingRecord, Measure

IATI_VERSION = "2.03"
#: The reporting organisation: DG NEAR, whose page the records come from; type 15 "Other Public
#: Sector", as the Commission's own IATI files declare it.
REPORTING_ORG = "XI-IATI-EC_NEAR"
REPORTING_ORG_TYPE = "15"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: IATI TransactionType codes (2.03) for the measures that have one.
TRANSACTION_TYPES: dict[str, str] = {
    Measure.COMMITTED: "2",  # Outgoing Commitment
    Measure.CONTRACTED: "2",  # Outgoing Commitment (a contract)
    Measure.PAID: "3",  # Disbursement
    Measure.PLEDGED: "12",  # Outgoing Pledge
}
_DATE_START = {True: "2", False: "1"}  # ActivityDateType: actual start / planned start
_DATE_END = {True: "4", False: "3"}  # actual end / planned end
_TO_MANY = {
    "countries": "iso_code",
    "regions": "slug",
    "region_names": ("regions", "name"),
    "themes": "slug",
    "theme_names": ("themes", "name"),
    "children": "slug",
}


def activity_identifier(slug: str) -> str:
    """The activity's IATI identifier: the reporting organisation's, then the record's slug."""
    return f"{REPORTING_ORG}-{slug}"


def _published(relation: str, field: str) -> Case:
    return Case(When(published_q(relation), then=F(f"{relation}__{field}")), default=Value(""))


def _hierarchy() -> Any:
    """1 for a record without a published whole, 2 for a part of one, and so on: a draft whole is
    not followed, as the public pages do not show it."""
    levels = []
    for depth in range(1, MAX_NESTING_DEPTH):
        published_chain = Q()
        for step in range(1, depth + 1):
            published_chain &= published_q("__".join(["parent"] * step))
        levels.append(
            Case(When(published_chain, then=Value(1)), default=Value(0), output_field=IntegerField())
        )
    total: Any = Value(1, output_field=IntegerField())
    for level in levels:
        total = total + level
    return total


def iati_queryset(records: QuerySet[FundingRecord]) -> QuerySet[FundingRecord]:
    """The records an IATI file holds: published, with a period, and what the XML needs as columns."""
    return (
        records.filter(published_q())
        .filter(Q(period_start__isnull=False) | Q(period_end__isnull=False))
        .select_related(None)
        .prefetch_related(None)
        .annotate(
            iati_parent=_published("parent", "slug"),
            iati_source_title=_published("source", "title"),
            iati_source_url=_published("source", "url"),
            iati_hierarchy=_hierarchy(),
        )
    )


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _narrative(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = _sub(parent, tag, **attributes)
    _sub(element, "narrative", text)
    return element


def first_day(value: PartialDate) -> datetime.date:
    return value.date


def last_day(value: PartialDate) -> datetime.date:
    """The last day a partial date covers: 2025 → 2025-12-31, June 2023 → 2023-06-30."""
    date = value.date
    if value.precision == DatePrecision.YEAR:
        return date.replace(month=12, day=31)
    if value.precision == DatePrecision.MONTH:
        return date.replace(day=calendar.monthrange(date.year, date.month)[1])
    return date


def amount_words(record: FundingRecord) -> str:
    """The figure as the source words it, with its period: "more than €350 million, since 2021"."""
    amount = (
        str(record.amount_display) if record.amount_display is not None else "No amount stated in the sources"
    )
    return f"{amount}, {record.period_display}" if record.period_display else amount


def _page_of(model: type[Region] | type[Theme]) -> Callable[[str], str]:
    return lambda slug: model(slug=slug).get_absolute_url()


class _Addresses:
    """The pages of regions and key areas by slug: one ``reverse()`` each per file, not per row."""

    def __init__(self, absolute_url: Callable[[str], str]) -> None:
        self.absolute_url = absolute_url
        self.templates = {model: address_template(_page_of(model)) for model in (Region, Theme)}

    def page(self, model: type[Region] | type[Theme], slug: str) -> str:
        return self.absolute_url(filled(self.templates[model], slug) or model(slug=slug).get_absolute_url())


def activity_element(
    record: Any,  # a FundingRecord of iati_queryset(), with its iati_* columns
    related: dict[str, list],
    *,
    addresses: _Addresses,
    today: datetime.date,
) -> ET.Element:
    start = record.partial_date("period_start")
    end = record.partial_date("period_end")
    activity = ET.Element(
        "iati-activity",
        {
            XML_LANG: "en",
            "default-currency": CURRENCY.alpha_3,
            "hierarchy": str(record.iati_hierarchy),
            "last-updated-datetime": record.updated_at.isoformat(timespec="seconds"),
        },
    )
    _sub(activity, "iati-identifier", activity_identifier(record.slug))
    _narrative(
        activity,
        "reporting-org",
        iati_organisations()[REPORTING_ORG]["name"],
        ref=REPORTING_ORG,
        type=REPORTING_ORG_TYPE,
    )
    _narrative(activity, "title", record.title)
    words = amount_words(record)
    _narrative(activity, "description", words, type="1")
    if text := html.unescape(strip_tags(record.description)).strip():
        _narrative(activity, "description", text, type="1")
    if record.source_passage:
        _narrative(activity, "description", f"The source says: “{record.source_passage}”", type="4")

    donor = {"ref": record.donor_iati_identifier} if record.donor_iati_identifier else {}
    _narrative(activity, "participating-org", str(Donor(record.donor).label), role="1", **donor)
    if record.implementer:
        _narrative(activity, "participating-org", record.implementer, role="4")

    # Required by the schema; the sources state no status: identification before the period
    # starts, implementation from then on (never "closed", which no source says).
    began = first_day(start) if start is not None else first_day(end)
    _sub(activity, "activity-status", code="2" if began <= today else "1")
    # Started (or ended) by today: an actual date; later: a planned one. A point ("adopted in
    # 2024") is a start only: it says when, not how long.
    if start is not None:
        on = first_day(start)
        _narrative(
            activity, "activity-date", str(start), type=_DATE_START[on <= today], iso_date=on.isoformat()
        )
    if end is not None and record.period_kind != "point":
        on = last_day(end)
        _narrative(activity, "activity-date", str(end), type=_DATE_END[on <= today], iso_date=on.isoformat())

    recipients = len(related["countries"]) + len(related["regions"])
    share = {"percentage": "100"} if recipients == 1 else {}
    for code in related["countries"]:
        _sub(activity, "recipient-country", code=code, **share)
    for slug, name in zip(related["regions"], related["region_names"], strict=True):
        region = _sub(
            activity,
            "recipient-region",
            code=slug,
            vocabulary="99",
            vocabulary_uri=addresses.page(Region, slug),
            **share,
        )
        _sub(region, "narrative", name)

    if record.dac_purpose_code:
        sector = _sub(activity, "sector", code=record.dac_purpose_code, vocabulary="1")
        _sub(sector, "narrative", dac_purpose_name(record.dac_purpose_code) or "")
    for slug, name in zip(related["themes"], related["theme_names"], strict=True):
        sector = _sub(
            activity,
            "sector",
            code=slug,
            vocabulary="99",
            vocabulary_uri=addresses.page(Theme, slug),
        )
        _sub(sector, "narrative", name)

    transaction_type = TRANSACTION_TYPES.get(record.measure)
    if record.amount is not None and transaction_type is not None:
        on = first_day(start) if start is not None else last_day(end)
        transaction = _sub(activity, "transaction")
        _sub(transaction, "transaction-type", code=transaction_type)
        _sub(transaction, "transaction-date", iso_date=on.isoformat())
        _sub(
            transaction, "value", f"{record.amount:.2f}", currency=CURRENCY.alpha_3, value_date=on.isoformat()
        )
        _narrative(transaction, "description", words)
        _narrative(transaction, "provider-org", str(Donor(record.donor).label), **donor)

    if record.iati_source_url:
        link = _sub(activity, "document-link", format="text/html", url=record.iati_source_url)
        _narrative(link, "title", record.iati_source_title)
        if record.source_passage:
            _narrative(link, "description", record.source_passage)
        _sub(link, "category", code="A12")
        _sub(link, "language", code="en")

    if record.iati_parent:
        _sub(activity, "related-activity", ref=activity_identifier(record.iati_parent), type="1")
    for child in related["children"]:
        _sub(activity, "related-activity", ref=activity_identifier(child), type="2")
    return activity


def iati_activities_xml(
    records: QuerySet[FundingRecord],
    *,
    absolute_url: Callable[[str], str] = str,
    now: datetime.datetime | None = None,
) -> Iterator[bytes]:
    """An ``iati-activities`` document of the published records of ``records``, in their order,
    written while it is sent: ``CSV_CHUNK`` records and one query per chunk and relation at a
    time (``migrationsupport.chunks``), so memory does not grow with the data."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
    generated = now.isoformat(timespec="seconds")
    yield f'<iati-activities version="{IATI_VERSION}" generated-datetime="{generated}">\n'.encode()
    related = {}
    for name, field in _TO_MANY.items():
        relation, value = (name, field) if isinstance(field, str) else field
        related[name] = RelatedValues(FundingRecord, relation, value, drafts=False)
    addresses = _Addresses(absolute_url)
    for chunk, many in records_in_chunks(iati_queryset(records), related):
        for record in chunk:
            values = {name: many[name].get(record.pk, []) for name in _TO_MANY}
            element = activity_element(record, values, addresses=addresses, today=today)
            yield ET.tostring(element, encoding="utf-8", xml_declaration=False) + b"\n"
    yield b"</iati-activities>\n"


def iati_download(
    records: QuerySet[FundingRecord], *, absolute_url: Callable[[str], str]
) -> StreamingHttpResponse:
    """The IATI document of ``records`` as a streamed attachment (``iati-activities.xml``)."""
    response = StreamingHttpResponse(
        iati_activities_xml(records, absolute_url=absolute_url), content_type="application/xml; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="iati-activities.xml"'
    return response
