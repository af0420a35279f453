import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template

from migrationsupport.richtext import KEPT_UP_TO, kept_for_short_texts, plain_words, sanitise
from migrationsupport.values import (
    Amount,
    PartialDate,
    Quantity,
    format_period,
    partial_date_text,
    period_text,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "qualifier", "wording", "expected"),
    [
        ("33000000000", "more_than", "", f"more than €33{NBSP}billion"),
        ("6000000000", "almost", "", f"almost €6{NBSP}billion"),
        ("2120000000", "exact", "", f"€2.12{NBSP}billion"),
        ("900000000", "about", "close to", f"close to €900{NBSP}million"),
        ("350000000", "more_than", "", f"more than €350{NBSP}million"),
        ("47000000", "exact", "", f"€47{NBSP}million"),
        # Not round at the million scale: written in full rather than rounded.
        ("47123456", "exact", "", f"€47{NBSP}123{NBSP}456"),
        ("1250.50", "exact", "", f"€1{NBSP}250.5"),
    ],
)
def test_amount_renders_as_a_person_writes_it(value, qualifier, wording, expected):
    assert str(Amount(Decimal(value), qualifier, wording)) == expected


def test_quantity_renders_people_with_qualifier():
    assert str(Quantity(Decimal(3_100_000), "about", "around")) == f"around 3.1{NBSP}million"
    assert str(Quantity(Decimal(300_000), "about", "around")) == f"around 300{NBSP}000"


def test_month_precision_never_renders_a_day():
    date = PartialDate(datetime.date(2016, 3, 1), "month")
    assert str(date) == "March 2016"
    assert date.isoformat() == "2016-03"
    assert "1" not in str(date).split()[0]


def test_year_and_day_precision():
    assert str(PartialDate(datetime.date(2021, 1, 1), "year")) == "2021"
    assert str(PartialDate(datetime.date(2023, 10, 18), "day")) == "18 October 2023"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ((2021, "year"), None, "since 2021"),
        ((2024, "year"), (2024, "year"), "in 2024"),
        ((2024, "year"), (2025, "year"), "for 2024 and 2025"),
        ((2021, "year"), (2027, "year"), "2021\u20132027"),
    ],
)
def test_period_renders_as_the_seed_writes_it(start, end, expected):
    def pd(spec):
        return PartialDate(datetime.date(spec[0], 1, 1), spec[1]) if spec else None

    assert format_period(pd(start), pd(end)) == expected
    first, last = (datetime.date(spec[0], 1, 1) if spec else None for spec in (start, end))
    precisions = (spec[1] if spec else "" for spec in (start, end))
    start_precision, end_precision = precisions
    assert period_text(first, start_precision, last, end_precision) == expected


@pytest.mark.parametrize(
    ("date", "precision", "expected"),
    [
        (datetime.date(2016, 3, 1), "month", ("2016-03", "month", "March 2016")),
        (datetime.date(2021, 1, 1), "year", ("2021", "year", "2021")),
        (datetime.date(2023, 10, 18), "day", ("2023-10-18", "day", "18 October 2023")),
    ],
)
def test_partial_date_text_is_the_partial_dates(date, precision, expected):
    """The one cached text of a partial date (the API, its CSV and the explorer's CSV)."""
    partial = PartialDate(date, precision)
    assert partial_date_text(date, precision) == (partial.isoformat(), partial.precision, str(partial))
    assert partial_date_text(date, precision) == expected


def test_template_filters_render_amounts_and_partial_dates():
    template = Template(
        "{% load records %}{{ amount|amount:'more_than' }}|{{ date|partial_date:'month' }}|{{ n|number }}"
    )
    out = template.render(
        Context({"amount": Decimal("33000000000"), "date": datetime.date(2016, 3, 1), "n": 300000})
    )
    assert out == f"more than €33{NBSP}billion|March 2016|300{NBSP}000"


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<p onclick="alert(1)">x</p>',
    ],
)
def test_rich_text_is_sanitised(payload):
    cleaned = sanitise(payload)
    assert "script" not in cleaned
    assert "onerror" not in cleaned
    assert "onclick" not in cleaned
    assert "javascript:" not in cleaned


def test_answers_are_kept_for_short_texts_only():
    calls = []

    @kept_for_short_texts
    def upper(text):
        calls.append(text)
        return text.upper()

    short, long = "a" * KEPT_UP_TO, "b" * (KEPT_UP_TO + 1)
    assert [upper(short), upper(short)] == ["A" * KEPT_UP_TO] * 2
    assert [upper(long), upper(long)] == ["B" * (KEPT_UP_TO + 1)] * 2
    assert calls == [short, long, long]


def test_plain_words_are_the_texts_words_one_space_apart():
    assert plain_words("<p>Support  to\n<em>Syrian</em> refugees &amp; hosts</p>") == (
        "Support to Syrian refugees & hosts"
    )


def test_large_amounts_that_are_not_round_billions_are_grouped_not_run_together():
    assert str(Amount(Decimal("40286000000"), "about")) == f"about €40{NBSP}286{NBSP}million"
    assert str(Amount(Decimal("1234567890123"))) == f"€1{NBSP}234{NBSP}567{NBSP}890{NBSP}123"
