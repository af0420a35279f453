"""``{% funding_node %}``: a funding figure of a region's digest (``site.digests.FundingNode``),
written in Python. The tree of figures is the digest's (the site layer's), so its writer is too.
"""

from __future__ import annotations

from collections.abc import Iterator

from django import template
from django.utils.safestring import SafeString, mark_safe

from migrationsupport.markup import escape
from migrationsupport.templatetags.pages import source_line
from migrationsupport.templatetags.records import rich

register = template.Library()


@register.simple_tag(takes_context=True)
def funding_node(context, node) -> SafeString:
    """``{% funding_node node %}``: a funding record as a figure of a region's digest, its parts
    nested below it, with its source.

    Written here rather than in an included template that included itself for each part: a
    region's page shows about a hundred figures, at some 200 µs of CPU each in a template
    (about 25 values each). The markup is what ``includes/funding_node.html`` gave, byte for
    byte (tests/site/test_digest_rows.py), ``includes/source.html`` with it."""
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
    yield f"\n  <p>{source_line(getattr(record, 'source', None), passage)}\n</p>\n  "
    if node.children:
        label = escape(amount or record.title)
        yield f'<ul class="figures figures--nested" aria-label="Parts of {label}">\n    '
        for child in node.children:
            yield from _funding_node(child, passage)
        yield "\n  </ul>"
    yield "\n</li>\n"
