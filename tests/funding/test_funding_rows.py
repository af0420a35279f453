"""``funding_rows``: ``{% funding_row %}`` writes the bytes the removed loops of the explorer
and of includes/funding_table.html wrote, the one with the instrument and regions columns, the
other without."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.template import engines

from funding.listings import funding_largest_first, funding_latest_first
from funding.models import FundingRecord
from migrationsupport.values import DatePrecision
from tests.factories import (
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    SourceFactory,
)

REMOVED = Path(__file__).resolve().parent.parent / "removed_templates"

#: The records' loops of funding/fundingrecord_list.html (the explorer) and of
#: includes/funding_table.html before 4 December 2026.
EXPLORER_ROWS = (REMOVED / "explorer_row.html").read_text()
TABLE_ROWS = (REMOVED / "funding_table_row.html").read_text()


@pytest.fixture
def records() -> list[FundingRecord]:
    """A whole with an instrument, two regions, a measure and a quoted passage; a part of it
    without an amount; one on its own, without a period (awkward characters everywhere)."""
    source = SourceFactory(
        title="A long & <odd> report title of many words", url="https://example.org/?a=1&b=2"
    )
    whole = FundingRecordFactory(
        title='Whole <"programme">',
        instrument=InstrumentFactory(name="NDICI <Global Europe>"),
        regions=[RegionFactory(name="South & East"), RegionFactory(name="North")],
        period_start=datetime.date(2021, 1, 1),
        period_start_precision=DatePrecision.YEAR,
        measure="committed",
        source=source,
        source_passage='"Quoted" <passage> & more',
    )
    FundingRecordFactory(title="Part, no amount", amount=None, parent=whole, source=source)
    FundingRecordFactory(title="Alone <one>", period_start=None)
    return list(FundingRecord.objects.for_public().order_by("pk"))


@pytest.mark.django_db
def test_funding_row_writes_what_the_explorer_wrote(records):
    django = engines["django"]
    context = {"object_list": records}
    written = django.from_string(
        "{% load funding_rows %}{% for record in object_list %}"
        "{% funding_row record instrument_and_regions=True indent=6 %}{% endfor %}"
    ).render(context)
    assert written == django.from_string(EXPLORER_ROWS).render(context)
    assert "Passage</summary>" in written
    assert "Not stated" in written
    assert 'data-label="Regions"><a href=' in written


@pytest.mark.django_db
def test_funding_row_writes_what_the_funding_table_wrote(records):
    django = engines["django"]
    context = {"records": records}
    written = django.from_string(
        "{% load funding_rows %}{% for record in records %}{% funding_row record %}{% endfor %}"
    ).render(context)
    assert written == django.from_string(TABLE_ROWS).render(context)
    assert 'data-label="Part of"><a href=' in written
    assert 'data-label="Instrument"' not in written
    assert 'data-label="Regions"' not in written


#: The "Totals by …" table body of funding/fundingrecord_list.html before 4 December 2026 (evening).
GROUP_ROWS = (REMOVED / "explorer_groups.html").read_text()


@pytest.mark.django_db
def test_group_rows_writes_what_the_explorer_s_groups_table_wrote(records):
    from django.utils.html import format_html

    from funding.selectors import FundingTotal, funding_totals_and_groups

    _totals, groups = funding_totals_and_groups(records=FundingRecord.objects.published(), group_by="region")
    groups += [
        FundingTotal(
            measure="pledged",
            donor="eu",
            lower=Decimal("0"),
            upper=Decimal("2500000.5"),
            lower_qualifier="exact",
            upper_qualifier="about",
            records=12345,
            overlapping=2,
            label='South & <"East">',
        ),
        FundingTotal(
            "paid", "eu", Decimal(7), Decimal(7), "exact", "exact", 1, label=format_html("<i>{}</i>", "&")
        ),
    ]
    django = engines["django"]
    context = {"groups": groups}
    written = django.from_string("{% load funding_rows %}<tbody>{% group_rows groups %}</tbody>").render(
        context
    )
    assert written == django.from_string(GROUP_ROWS).render(context)
    assert (
        "South &amp; &lt;&quot;East&quot;&gt;" in written and "<i>&amp;</i>" in written and "12345" in written
    )
    assert written.count("<tr>") == len(groups) > 2


RELATIONS = ("instrument", "parent", "source", "conference")


@pytest.mark.django_db
def test_a_table_s_records_join_what_their_rows_show():
    """``{% funding_row %}`` shows the instrument (the explorer's), the whole it is part of and
    the source, never the conference: the tables' records join those three only."""
    parent = FundingRecordFactory()
    FundingRecordFactory(
        parent=parent, instrument=InstrumentFactory(), conference=PledgingConferenceFactory()
    )
    for listing in (funding_largest_first, funding_latest_first):
        child = listing(relations=False).get(parent=parent)
        joined = {name for name in RELATIONS if child._meta.get_field(name).is_cached(child)}
        assert joined == {"instrument", "parent", "source"}, listing
