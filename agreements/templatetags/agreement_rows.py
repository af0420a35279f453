"""Lines of agreements, key documents and the timeline's steps, written in Python.

A region's page lists about a hundred documents and the timeline some 140 steps: a template
costs some 80 µs of CPU a line to what these cost in 15–30 µs. Each writes what its template
wrote, byte for byte (tests/agreements/test_agreement_rows.py, against the removed templates).
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from migrationsupport.markup import conditional_escape, escape
from migrationsupport.templatetags.pages import note_ref, source_line, time_tag

register = template.Library()


@register.simple_tag
def document_item(document) -> SafeString:
    """``{% document_item document %}``: a key document's line in a list, with its kind and date
    (what ``includes/document_item.html`` gave, its final line break too)."""
    date = document.date_display
    dated = f", {time_tag(date)}" if date else ""
    return mark_safe(  # noqa: S308 - every value escaped
        f'<li><a href="{escape(document.get_absolute_url())}">{escape(document.title)}</a> '
        f'<span class="meta">{escape(document.get_kind_display())}{dated}</span></li>\n'
    )


@register.simple_tag(takes_context=True)
def agreement_item(context, agreement) -> SafeString:
    """``{% agreement_item agreement %}``: an agreement's line in a list: its parties' footnote
    references (the page's ``notes``), its current status and the date of its latest step
    (what ``includes/agreement_item.html`` gave, its final line break too)."""
    notes = context.get("notes")
    references = "".join(conditional_escape(note_ref(party, notes)) for party in agreement.published_parties)
    date = agreement.latest_event_date
    dated = f' <span class="meta">{time_tag(date)}</span>' if date else ""
    return mark_safe(  # noqa: S308 - every value escaped
        f'<li><a href="{escape(agreement.get_absolute_url())}">{escape(agreement.title)}</a>{references} '
        f'<span class="status">{conditional_escape(agreement.current_status_label)}</span>{dated}</li>\n'
    )


@register.simple_tag(takes_context=True)
def timeline_event(context, event) -> SafeString:
    """``{% timeline_event event %}``: a dated step of the agreements' timeline, with its source
    (what the timeline's loop wrote). The id is the number as it is (``str``): an id is never a
    localised number."""
    agreement = getattr(event, "agreement", None)  # a draft one reads as None (for_public)
    url = escape(agreement.get_absolute_url()) if agreement else ""
    title = escape(agreement.title) if agreement else ""
    description = f" {escape(event.description)}" if event.description else ""
    source = source_line(getattr(event, "source", None), context.get("passage"))
    return mark_safe(  # noqa: S308 - every value escaped
        f'\n      <li class="timeline-event" id="event-{event.pk}">\n'
        f'        <p class="timeline-date">{time_tag(event.date_display)}</p>\n'
        f'        <p><a href="{url}">{title}</a>: {escape(event.get_kind_display().lower())}{description}.\n'
        f"          {source}\n</p>\n      </li>"
    )
