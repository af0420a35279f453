"""Template helpers of the public pages: drafts kept out, footnotes, machine-readable dates.

The row writers of the apps' objects live with their apps (``funding_rows``, ``agreement_rows``,
``digest_rows``); the pieces they share that know no app (a source's line or cell, a link or a
dash) are here, as plain functions."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import truncatewords
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from migrationsupport.footnotes import Footnotes
from migrationsupport.markup import conditional_escape, escape
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


def source_line(source, passage) -> str:
    """What ``includes/source.html`` writes (without its final line break), for the row writers
    of the apps (``{% funding_node %}``, ``{% timeline_event %}``): escaped, not yet marked safe."""
    if not source:
        return ""
    html = f'<span class="source">Source: <a href="{escape(source.url)}">{escape(source.title)}</a></span>'
    if passage:
        html += (
            ' <details class="passage"><summary>The passage this figure comes from</summary>'
            f"<q>{conditional_escape(passage)}</q></details>"
        )
    return html


def source_cell(source, passage) -> str:
    """What ``includes/source_cell.html`` writes (without its final line break), for a table row
    written in Python (``{% funding_row %}``): escaped, not yet marked safe."""
    if not source:
        return "–"
    title = escape(source.title)
    html = f'<a href="{escape(source.url)}" title="{title}">{escape(truncatewords(source.title, 5))}</a>'
    if passage:
        quoted = conditional_escape(passage)
        html += f'<details class="passage"><summary>Passage</summary><q>{quoted}</q></details>'
    return html


def link_or_dash(obj, text: str) -> str:
    """A link to ``obj``'s page with this (escaped) text, or a dash without ``obj``."""
    return f'<a href="{escape(obj.get_absolute_url())}">{text}</a>' if obj else "–"
