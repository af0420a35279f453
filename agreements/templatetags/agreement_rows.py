"""Lines of agreements, key documents and the timeline's steps, and the rows of the agreements',
the documents' and the lane chart's tables, written in Python.

A region's page lists about a hundred documents and the timeline some 140 steps: a template
costs some 80 µs of CPU a line to what these cost in 15–30 µs. Each writes what its template
wrote, byte for byte (tests/agreements/test_agreement_rows.py and test_lanes.py, against the
removed templates).
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from migrationsupport.markup import conditional_escape, escape
from migrationsupport.templatetags.pages import link_or_dash, note_ref, source_line, time_tag

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


@register.simple_tag(takes_context=True)
def agreement_row(context, agreement) -> SafeString:
    """``{% agreement_row agreement %}``: an agreement's row of ``includes/agreement_table.html``
    (the agreements list, a country's and a route's): its kind, its partners (each linked with
    its footnote reference; its region when it names none), its current status and its latest
    step (the last of ``published_events``), what the table's loop wrote (its line break first)."""
    notes = context.get("notes")
    # Each as includes/country_link.html writes it, its final line break too.
    parties = ", ".join(
        f'<a href="{escape(party.get_absolute_url())}">{escape(party.name)}</a>'
        f"{conditional_escape(note_ref(party, notes))}\n"
        for party in agreement.parties.all()
    )
    if not parties:
        region = agreement.region
        parties = link_or_dash(region, escape(region.name) if region else "")
    events = getattr(agreement, "published_events", None)
    event = events[-1] if events else None
    latest = f"{escape(event.get_kind_display())}, {time_tag(event.date_display)}" if event else "–"
    return mark_safe(  # noqa: S308 - every value escaped
        f'\n    <tr>\n      <th scope="row"><a href="{escape(agreement.get_absolute_url())}">'
        f"{escape(agreement.title)}</a></th>\n"
        f'      <td data-label="Kind">{escape(agreement.get_kind_display())}</td>\n'
        f'      <td data-label="Partners">{parties}</td>\n'
        f'      <td data-label="Current status"><span class="status">'
        f"{conditional_escape(agreement.current_status_label)}</span></td>\n"
        f'      <td data-label="Latest step">{latest}</td>\n    </tr>'
    )


@register.simple_tag
def document_row(document) -> SafeString:
    """``{% document_row document %}``: a key document's row of ``includes/document_table.html``:
    its kind, date, author and regions, what the table's loop wrote (its line break first)."""
    regions = ", ".join(
        f'<a href="{escape(region.get_absolute_url())}">{escape(region.name)}</a>'
        for region in document.regions.all()
    )
    author = escape(document.author) if document.author else "–"
    return mark_safe(  # noqa: S308 - every value escaped
        f'\n    <tr>\n      <th scope="row"><a href="{escape(document.get_absolute_url())}">'
        f"{escape(document.title)}</a></th>\n"
        f'      <td data-label="Kind">{escape(document.get_kind_display())}</td>\n'
        f'      <td data-label="Date">{time_tag(document.date_display) or "–"}</td>\n'
        f'      <td data-label="Adopted or issued by">{author}</td>\n'
        f'      <td data-label="Regions">{regions or "–"}</td>\n    </tr>'
    )


@register.simple_tag
def lane_row(lane) -> SafeString:
    """``{% lane_row lane %}``: an agreement's row of the table beside the lane chart
    (``includes/agreement_lanes.html``, a ``selectors.AgreementLane``): its statuses, oldest
    first, each from the step that began it, or the status the source states without a date;
    what the table's loop wrote (its line break first)."""
    agreement = lane.agreement
    if lane.periods:
        items = []
        for n, period in enumerate(lane.periods):
            began = time_tag(period.event.date_display)
            before = f"Not stated before {began}; then " if n == 0 else ""
            until = f" until {time_tag(period.end_event.date_display)}" if period.end_event else " to date"
            tie = (
                " (the dates do not say whether this came after the step before: shown in lifecycle order)"
                if period.tie
                else ""
            )
            note = period.event.transition_note
            skips = f" (skips a step: {escape(note)})" if note else ""
            items.append(
                f'<li>{before}<span class="status">{conditional_escape(period.label)}</span> '
                f"from {began}{until}{tie}{skips}</li>"
            )
        statuses = f'<ol class="plain-list">{"".join(items)}</ol>'
    elif agreement.stated_status:
        statuses = f"{conditional_escape(agreement.current_status_label)}, as the source states, with no date"
    else:
        statuses = "Status not stated"
    return mark_safe(  # noqa: S308 - every value escaped
        f'\n    <tr>\n      <th scope="row"><a href="{escape(agreement.get_absolute_url())}">'
        f"{escape(agreement.title)}</a></th>\n"
        f'      <td data-label="Statuses">{statuses}</td>\n    </tr>'
    )
