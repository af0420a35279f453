"""``{% funding_row %}``: a funding record's row of a table, written in Python.

One writer for both tables of records: the explorer's (50 a page, with the instrument and regions
columns) and ``includes/funding_table.html`` (an instrument's, a conference's, a country's... list
of records, without them). In a template a row cost some 200 µs of CPU, an include of
``includes/source_cell.html`` with it; the markup is what the templates' loops wrote, byte for
byte (tests/funding/test_funding_rows.py, against the removed loops).
"""

from __future__ import annotations

from django import template
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from migrationsupport.markup import conditional_escape, escape
from migrationsupport.templatetags.pages import link_or_dash, source_cell

register = template.Library()


@register.simple_tag
def funding_row(record, *, instrument_and_regions: bool = False, indent: int = 4) -> SafeString:
    """``{% funding_row record %}``: title, amount, measure, period, donor, the whole it is part
    of and its source; ``instrument_and_regions=True`` adds those two columns after the donor (the
    explorer's table). ``indent``: the spaces before ``<tr>`` in the page (the row's line break
    comes first, its cells are two spaces further in)."""
    pad = " " * indent
    cell = f"{pad}  <td data-label="
    url, title = escape(record.get_absolute_url()), escape(record.title)
    row = [
        f'\n{pad}<tr>\n{pad}  <th scope="row"><a href="{url}">{title}</a></th>\n',
        f'{cell}"Amount" class="num">{escape(record.amount_display or "Not stated")}</td>\n',
        f'{cell}"Measure">{escape(record.get_measure_display() or "–")}</td>\n',
        f'{cell}"Period">{escape(record.period_display or "–")}</td>\n',
        f'{cell}"Donor">{escape(record.get_donor_display())}</td>\n',
    ]
    if instrument_and_regions:
        instrument = getattr(record, "instrument", None)  # a draft one reads as None (for_public)
        regions = ", ".join(
            f'<a href="{escape(region.get_absolute_url())}">{escape(region.name)}</a>'
            for region in record.regions.all()
        )
        instrument_cell = link_or_dash(instrument, escape(instrument) if instrument else "")
        row.append(f'{cell}"Instrument">{instrument_cell}</td>\n')
        row.append(f'{cell}"Regions">{regions or "–"}</td>\n')
    parent = getattr(record, "parent", None)
    row.append(f'{cell}"Part of">{link_or_dash(parent, escape(parent.title) if parent else "")}</td>\n')
    source = source_cell(getattr(record, "source", None), record.source_passage)
    row.append(f'{cell}"Source">{source}\n</td>\n{pad}</tr>')
    return mark_safe("".join(row))  # noqa: S308 - every value escaped


@register.simple_tag
def group_rows(groups) -> SafeString:
    """``{% group_rows groups %}``: the explorer's "Totals by …" table rows, one per group total
    (``selectors.FundingTotal`` with its ``label``): a few hundred at 100 000 records, ~1 000
    template variables a page before. Each value as a template variable writes it (localized,
    escaped unless safe)."""
    return mark_safe(  # noqa: S308 (every value is escaped)
        "".join(
            f'<tr><th scope="row">{conditional_escape(row.label)}</th>'
            f'<td data-label="Measure and donor">{conditional_escape(row.heading)}</td>'
            f'<td data-label="Total" class="num">{conditional_escape(row.display)}</td>'
            f'<td data-label="Figures counted" class="num">{conditional_escape(localize(row.records))}'
            "</td></tr>"
            for row in groups
        )
    )
