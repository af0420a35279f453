"""``digest_rows``: ``{% funding_node %}`` writes the bytes the removed template wrote."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Engine, engines

from migrationsupport.site.digests import FundingNode
from migrationsupport.values import DatePrecision
from tests.factories import FundingRecordFactory, InstrumentFactory, SourceFactory

REMOVED = Path(__file__).resolve().parent.parent / "removed_templates"

#: What includes/funding_node.html was (removed on 4 December 2026), kept here to compare with.
FUNDING_NODE = (REMOVED / "funding_node.html").read_text()


def old_templates() -> Engine:
    """Django's engine with the removed template, and includes/source.html as it is."""
    source = (Path(settings.BASE_DIR) / "templates/includes/source.html").read_text()
    return Engine(
        loaders=[
            (
                "django.template.loaders.locmem.Loader",
                {"includes/funding_node.html": FUNDING_NODE, "includes/source.html": source},
            )
        ],
        libraries={
            "pages": "migrationsupport.templatetags.pages",
            "records": "migrationsupport.templatetags.records",
        },
    )


@pytest.mark.django_db
@pytest.mark.parametrize("passage", [None, "The <passage> & its quote"])
def test_funding_node_writes_what_its_template_wrote(passage):
    source = SourceFactory(title="A & B's report", url="https://example.org/?a=1&b=2")
    whole = FundingRecordFactory(
        title='Whole <"programme">',
        implementer="Frontex & co",
        instrument=InstrumentFactory(name="NDICI <Global Europe>"),
        description="<p>Money for <strong>this</strong> &amp; that.</p>",
        period_start=datetime.date(2021, 1, 1),
        period_start_precision=DatePrecision.YEAR,
        period_end=datetime.date(2027, 1, 1),
        period_end_precision=DatePrecision.YEAR,
        source=source,
    )
    part = FundingRecordFactory(title="Part without an amount", amount=None, parent=whole, source=source)
    grandpart = FundingRecordFactory(
        title="Grandpart", parent=part, amount=Decimal("12.5"), qualifier="about"
    )
    alone = FundingRecordFactory(title="Alone", description="<p>Said.</p>")
    tree = [
        FundingNode(whole, [FundingNode(part, [FundingNode(grandpart)], show_description=False)]),
        FundingNode(alone, show_description=False),
    ]
    old = old_templates().get_template("includes/funding_node.html")
    new = engines["django"].from_string("{% load digest_rows %}{% funding_node node %}")
    for node in tree:
        context = {"node": node, "passage": passage}
        written = new.render(context)
        assert written == old.render(Context(context))
    assert "no amount stated" in new.render({"node": tree[0]})
    assert ("passage this figure comes from" in written) is bool(passage)
