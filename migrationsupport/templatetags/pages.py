"""Template helpers of the public pages: drafts kept out, footnotes, machine-readable dates."""

from __future__ import annotations

from collections.abc import Iterator

from django import template
from django.template.defaultfilters import truncatewords
from django.urls import reverse
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe

from migrationsupport.footnotes import Footnotes
from migrationsupport.templatetags.records import rich
from migrationsupport.values import PartialDate

register = template.Library()


@register.filter
def note_ref(country, notes: Footnotes | None) -> SafeString | str:
    """``{{ country|note_ref:notes }}``: the link to the country's footnote, if it has one."""
    return notes.reference(country) if notes is not None else ""


@register.filter
def mark_notes(html, notes: Footnotes | None):
    """``{{ region.body|rich|mark_notes:notes }}``: reference notes where their country is named."""
    return notes.mark(html) if notes is not None else html


@register.filter
def time_tag(value: PartialDate | None) -> SafeString | str:
    """``{{ event.date_display|time_tag }}`` → ``<time datetime="2016-03">March 2016</time>``."""
    if not value:
        return ""
    # format_html's escaping without its formatting machinery: 180 of them on a region's page.
    return mark_safe(f'<time datetime="{escape(value.isoformat())}">{escape(str(value))}</time>')  # noqa: S308 - escaped


@register.simple_tag
def document_item(document) -> SafeString:
    """``{% document_item document %}``: a key document's line in a list, with its kind and date.

    Written here rather than in an included template: a region's page lists about a hundred
    documents, and a template costs some 80 µs of CPU a line to what this costs in 15 µs. The
    markup is what ``includes/document_item.html`` gave (same bytes, its final line break too).
    """
    date = document.date_display
    dated = f", {time_tag(date)}" if date else ""
    return mark_safe(  # noqa: S308 - every value escaped
        f'<li><a href="{escape(document.get_absolute_url())}">{escape(document.title)}</a> '
        f'<span class="meta">{escape(document.get_kind_display())}{dated}</span></li>\n'
    )


@register.filter
def partial(obj, name: str) -> PartialDate | None:
    """``{{ country|partial:"cooperation_suspended_since"|time_tag }}``: a partial date field."""
    return obj.partial_date(name) if obj is not None else None


@register.simple_tag(takes_context=True)
def nav_link(context, url_name: str, label: str) -> SafeString:
    """A main-navigation link, marked as the current page or the current section."""
    url = reverse(url_name)
    request = context.get("request")
    path = request.path if request is not None else ""
    if path == url:
        current = ' aria-current="page"'
    elif url != "/" and path.startswith(url):
        current = ' aria-current="true"'
    else:
        current = ""
    return format_html('<a href="{}"{}>{}</a>', url, mark_safe(current), label)  # noqa: S308 - constant


@register.simple_tag(takes_context=True)
def agreement_item(context, agreement) -> SafeString:
    """``{% agreement_item agreement %}``: an agreement's line in a list: its parties' footnote
    references (the page's ``notes``), its current status and the date of its latest step.

    Written here, like ``document_item``, rather than in an included template (the markup
    ``includes/agreement_item.html`` gave, its final line break too)."""
    notes = context.get("notes")
    references = "".join(conditional_escape(note_ref(party, notes)) for party in agreement.published_parties)
    date = agreement.latest_event_date
    dated = f' <span class="meta">{time_tag(date)}</span>' if date else ""
    return mark_safe(  # noqa: S308 - every value escaped
        f'<li><a href="{escape(agreement.get_absolute_url())}">{escape(agreement.title)}</a>{references} '
        f'<span class="status">{conditional_escape(agreement.current_status_label)}</span>{dated}</li>\n'
    )


@register.simple_tag(takes_context=True)
def funding_node(context, node) -> SafeString:
    """``{% funding_node node %}``: a funding record as a figure of a region's digest
    (``site.digests.FundingNode``), its parts nested below it, with its source.

    Written here rather than in an included template that included itself for each part: a
    region's page shows about a hundred figures, at some 200 µs of CPU each in a template
    (about 25 values each). The markup is what ``includes/funding_node.html`` gave, byte for
    byte (tests/migrationsupport/test_page_tags.py), ``includes/source.html`` with it."""
    return mark_safe("".join(_funding_node(node, context.get("passage"))))  # noqa: S308 - escaped


def _funding_node(node, passage) -> Iterator[str]:
    record = node.record
    url = escape(record.get_absolute_url())
    title = escape(record.title)
    amount = record.amount_display
    period = record.period_display
    period_html = f' <span class="period">{escape(period)}</span>' if period else ""
    yield f'<li class="figure" id="funding-{escape(record.slug)}">\n  '
    if amount:
        yield f'<p class="figure-amount"><a href="{url}">{escape(amount)}</a>{period_html}</p>\n'
        yield f'  <p class="figure-title">{title}</p>'
    else:
        yield f'<p class="figure-title"><a href="{url}">{title}</a>{period_html}</p>'
    yield f'\n  <p class="meta">{escape(record.get_kind_display())} · {escape(record.get_donor_display())}'
    if record.implementer:
        yield f" · implemented by {escape(record.implementer)}"
    instrument = getattr(record, "instrument", None)  # a draft one reads as None (for_public)
    if instrument:
        yield f' · <a href="{escape(instrument.get_absolute_url())}">{escape(instrument)}</a>'
    if not amount:
        yield " · no amount stated"
    yield "</p>\n  "
    if node.show_description:
        yield rich(record.description)
    yield f"\n  <p>{_source(getattr(record, 'source', None), passage)}\n</p>\n  "
    if node.children:
        label = escape(amount or record.title)
        yield f'<ul class="figures figures--nested" aria-label="Parts of {label}">\n    '
        for child in node.children:
            yield from _funding_node(child, passage)
        yield "\n  </ul>"
    yield "\n</li>\n"


def _source(source, passage) -> str:
    """What ``includes/source.html`` writes (without its final line break)."""
    if not source:
        return ""
    html = f'<span class="source">Source: <a href="{escape(source.url)}">{escape(source.title)}</a></span>'
    if passage:
        html += (
            ' <details class="passage"><summary>The passage this figure comes from</summary>'
            f"<q>{conditional_escape(passage)}</q></details>"
        )
    return html


@register.simple_tag(takes_context=True)
def timeline_event(context, event) -> SafeString:
    """``{% timeline_event event %}``: a dated step of the agreements' timeline, with its source.

    Written here rather than by the timeline's template (some 140 steps a page, at about 80 µs
    of CPU each there); the same markup, byte for byte (tests/migrationsupport/test_page_tags.py).
    The id is the number as it is (``str``): an id is never a localised number."""
    agreement = getattr(event, "agreement", None)  # a draft one reads as None (for_public)
    url = escape(agreement.get_absolute_url()) if agreement else ""
    title = escape(agreement.title) if agreement else ""
    description = f" {escape(event.description)}" if event.description else ""
    source = _source(getattr(event, "source", None), context.get("passage"))
    return mark_safe(  # noqa: S308 - every value escaped
        f'\n      <li class="timeline-event" id="event-{event.pk}">\n'
        f'        <p class="timeline-date">{time_tag(event.date_display)}</p>\n'
        f'        <p><a href="{url}">{title}</a>: {escape(event.get_kind_display().lower())}{description}.\n'
        f"          {source}\n</p>\n      </li>"
    )


@register.simple_tag
def explorer_row(record) -> SafeString:
    """``{% explorer_row record %}``: a funding record's row of the explorer's table (50 a page,
    at some 200 µs of CPU each in the template), the markup the template's loop wrote, byte for
    byte (tests/migrationsupport/test_page_tags.py), ``includes/source_cell.html`` with it."""
    instrument = getattr(record, "instrument", None)  # a draft one reads as None (for_public)
    parent = getattr(record, "parent", None)
    regions = ", ".join(
        f'<a href="{escape(region.get_absolute_url())}">{escape(region.name)}</a>'
        for region in record.regions.all()
    )
    url, title = escape(record.get_absolute_url()), escape(record.title)
    instrument_cell = _link(instrument, escape(instrument) if instrument else "")
    parent_cell = _link(parent, escape(parent.title) if parent else "")
    source_cell = _source_cell(getattr(record, "source", None), record.source_passage)
    return mark_safe(  # noqa: S308 - every value escaped
        "\n      <tr>\n"
        f'        <th scope="row"><a href="{url}">{title}</a></th>\n'
        f'        <td data-label="Amount" class="num">{escape(record.amount_display or "Not stated")}</td>\n'
        f'        <td data-label="Measure">{escape(record.get_measure_display() or "–")}</td>\n'
        f'        <td data-label="Period">{escape(record.period_display or "–")}</td>\n'
        f'        <td data-label="Donor">{escape(record.get_donor_display())}</td>\n'
        f'        <td data-label="Instrument">{instrument_cell}</td>\n'
        f'        <td data-label="Regions">{regions or "–"}</td>\n'
        f'        <td data-label="Part of">{parent_cell}</td>\n'
        f'        <td data-label="Source">{source_cell}\n</td>\n'
        "      </tr>"
    )


def _link(record, text: str) -> str:
    """A link to ``record``'s page with this (escaped) text, or a dash without one."""
    return f'<a href="{escape(record.get_absolute_url())}">{text}</a>' if record else "–"


def _source_cell(source, passage) -> str:
    """What ``includes/source_cell.html`` writes (without its final line break)."""
    if not source:
        return "–"
    title = escape(source.title)
    html = f'<a href="{escape(source.url)}" title="{title}">{escape(truncatewords(source.title, 5))}</a>'
    if passage:
        quoted = conditional_escape(passage)
        html += f'<details class="passage"><summary>Passage</summary><q>{quoted}</q></details>'
    return html
