"""Template filters that write figures and dates the way a person does."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import template
from django.utils.safestring import mark_safe

from migrationsupport.richtext import sanitise
from migrationsupport.values import Amount, PartialDate, Qualifier, format_number

register = template.Library()


@register.filter
def amount(value, qualifier: str = Qualifier.EXACT) -> str:
    """``{{ record.amount|amount:record.qualifier }}`` → "more than €33 billion".

    Also accepts an ``Amount`` (``{{ record.amount_display|amount }}``). Empty for no figure.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, Amount):
        return str(value)
    return str(Amount(Decimal(value), qualifier or Qualifier.EXACT))


@register.filter
def number(value) -> str:
    """``{{ 3100000|number }}`` → "3.1 million"; ``{{ 300000|number }}`` → "300 000"."""
    if value is None or value == "":
        return ""
    return format_number(Decimal(value))


@register.filter
def partial_date(value, precision: str = "day") -> str:
    """``{{ doc.date|partial_date:doc.date_precision }}`` → "March 2016", never "1 March 2016"."""
    if value is None or value == "":
        return ""
    if isinstance(value, PartialDate):
        return str(value)
    if isinstance(value, datetime.datetime):
        value = value.date()
    return str(PartialDate(value, precision or "day"))


@register.filter
def rich(value: str) -> str:
    """Officer-entered HTML, sanitised again on the way out, so nothing unsafe reaches a page."""
    return mark_safe(sanitise(value or ""))  # noqa: S308 - sanitised by nh3 on this line
