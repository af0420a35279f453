"""Value types the seed needs to say exactly: partial dates, qualified amounts and periods.

They are plain Python objects built from model fields (a date plus its precision; a Decimal plus
its qualifier) so that templates, serializers and CSV exports render them one way.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple, TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

_Getter = TypeVar("_Getter", bound=Callable)


def reads_columns(*columns: str) -> Callable[[_Getter], _Getter]:
    """Marks a property's getter (or a serializer's ``get_<name>``) as reading nothing of the
    record but these columns, as attributes: the API's CSV then calls it with an object holding
    just them, read from a ``values_list`` row, rather than with a model instance
    (``api.csv_rows``; tests/api/test_csv_rows.py compares both)."""

    def mark(getter: _Getter) -> _Getter:
        getter.reads_columns = columns  # type: ignore[attr-defined]
        return getter

    return mark


class DatePrecision(models.TextChoices):
    YEAR = "year", _("Year")
    MONTH = "month", _("Month")
    DAY = "day", _("Day")


class Qualifier(models.TextChoices):
    EXACT = "exact", _("exact")
    ABOUT = "about", _("about / close to")
    MORE_THAN = "more_than", _("more than / at least")
    ALMOST = "almost", _("almost / up to")


# How a person writes each qualifier. The first wording is the default; the others are kept so a
# record can say "close to €900 million" exactly as its source does.
QUALIFIER_WORDINGS: dict[str, tuple[str, ...]] = {
    Qualifier.EXACT: ("",),
    Qualifier.ABOUT: ("about", "around", "close to", "approximately"),
    Qualifier.MORE_THAN: ("more than", "over", "at least"),
    Qualifier.ALMOST: ("almost", "nearly", "up to"),
}
WORDING_CHOICES = [
    ("", _("default wording")),
    *sorted({(w, w) for words in QUALIFIER_WORDINGS.values() for w in words if w}),
]


def normalise_partial_date(value: datetime.date, precision: str) -> datetime.date:
    """The canonical stored date for a precision: the first day of the month or of the year."""
    if precision == DatePrecision.YEAR:
        return value.replace(month=1, day=1)
    if precision == DatePrecision.MONTH:
        return value.replace(day=1)
    return value


@dataclass(frozen=True)
class PartialDate:
    date: datetime.date
    precision: str

    def __str__(self) -> str:
        if self.precision == DatePrecision.YEAR:
            return str(self.date.year)
        if self.precision == DatePrecision.MONTH:
            return f"{self.date:%B} {self.date.year}"
        return f"{self.date.day} {self.date:%B} {self.date.year}"

    def isoformat(self) -> str:
        """ISO 8601 truncated to what is known: 2016, 2016-03, 2023-10-18."""
        if self.precision == DatePrecision.YEAR:
            return f"{self.date.year:04d}"
        if self.precision == DatePrecision.MONTH:
            return f"{self.date.year:04d}-{self.date.month:02d}"
        return self.date.isoformat()

    @classmethod
    def of(cls, date: datetime.date | None, precision: str) -> PartialDate | None:
        return cls(date, precision) if date is not None else None


class PartialDateText(NamedTuple):
    """A partial date as the pages, the API and every file write it."""

    iso: str  # "2016-03"
    precision: str  # "month"
    display: str  # "March 2016"


@lru_cache(maxsize=4096)  # the same few dates recur on thousands of records
def partial_date_text(date: datetime.date, precision: str) -> PartialDateText:
    """The texts of ``PartialDate(date, precision)``, written once per (date, precision): a
    table of 100 000 records holds a few hundred."""
    partial = PartialDate(date, precision)
    return PartialDateText(partial.isoformat(), partial.precision, str(partial))


def _plain(value: Decimal) -> str:
    """A non-negative number with its integral digits grouped by non-breaking spaces, no
    trailing zeros: 300 000, 2.12, 40 286."""
    text = format(value.normalize(), "f")
    integral, _, fraction = text.partition(".")
    grouped = f"{int(integral):,}".replace(",", "\u00a0")
    fraction = fraction.rstrip("0")
    return f"{grouped}.{fraction}" if fraction else grouped


@lru_cache(maxsize=8192)  # a table's thousands of amounts, each written in several columns
def format_number(value: Decimal | int) -> str:
    """Write a number as the Commission does: "33 billion", "2.12 billion", "300 000".

    Large round numbers use "million"/"billion" when that loses nothing (at most two decimals at
    that scale); anything else is written in full with a non-breaking space between thousands.
    """
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for scale, word in ((Decimal(10) ** 9, "billion"), (Decimal(10) ** 6, "million")):
        if value >= scale:
            scaled = value / scale
            if scaled == scaled.quantize(Decimal("0.01")):
                return f"{sign}{_plain(scaled)}\u00a0{word}"
    return sign + _plain(value.quantize(Decimal("0.01")))


@dataclass(frozen=True)
class Amount:
    value: Decimal
    qualifier: str = Qualifier.EXACT
    wording: str = ""
    currency: str = "EUR"

    @property
    def words(self) -> str:
        return self.wording or QUALIFIER_WORDINGS[self.qualifier][0]

    def __str__(self) -> str:
        symbol = "€" if self.currency == "EUR" else f"{self.currency}\u00a0"
        number = f"{symbol}{format_number(self.value)}"
        return f"{self.words} {number}" if self.words else number


@dataclass(frozen=True)
class Quantity:
    """A count of people (or anything) with a qualifier: "around 3.1 million"."""

    value: Decimal
    qualifier: str = Qualifier.EXACT
    wording: str = ""

    def __str__(self) -> str:
        words = self.wording or QUALIFIER_WORDINGS[self.qualifier][0]
        number = format_number(self.value)
        return f"{words} {number}" if words else number


def format_period(start: PartialDate | None, end: PartialDate | None) -> str:
    """A period as the seed writes it: "since 2021", "in 2024", "for 2024 and 2025"."""
    if start is None and end is None:
        return ""
    if start is None:
        return f"until {end}"
    if end is None:
        return f"since {start}"
    if str(start) == str(end):
        return f"in {start}"
    if start.precision == end.precision == DatePrecision.YEAR and end.date.year == start.date.year + 1:
        return f"for {start} and {end}"
    return f"{start}\u2013{end}"


@lru_cache(maxsize=4096)  # the same few periods recur on thousands of records
def period_text(
    start: datetime.date | None, start_precision: str, end: datetime.date | None, end_precision: str
) -> str:
    """``format_period`` of the period stored in a record's four columns (``period_display``),
    written once per period."""
    return format_period(PartialDate.of(start, start_precision), PartialDate.of(end, end_precision))
