"""The ``<url>`` elements of a sitemap section, written in Python: a section of 1 000 addresses
spent about 40 % of its CPU on the template's loop (three variables and a date filter per address);
the same bytes here take a fraction (``tests/site/test_sitemaps.py`` compares both)."""

from __future__ import annotations

import datetime

from django import template
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone, is_naive

from migrationsupport.markup import conditional_escape

register = template.Library()


@register.simple_tag
def url_rows(urlset: list[dict]) -> SafeString:
    """Each address of ``urlset`` (``Sitemap.get_urls``) with the day of its last change, if any,
    as ``{{ url.lastmod|date:"Y-m-d" }}`` writes it (in the current time zone, looked up once
    rather than per address as the template's ``localtime`` does)."""
    zone = get_current_timezone() if settings.USE_TZ else None
    return mark_safe(  # noqa: S308 (the address is escaped, the day is digits)
        "".join(
            f"<url><loc>{conditional_escape(url['location'])}</loc>{_lastmod(url['lastmod'], zone)}</url>"
            for url in urlset
        )
    )


def _lastmod(value, zone) -> str:
    if not value:
        return ""
    if zone is not None and isinstance(value, datetime.datetime) and not is_naive(value):
        value = value.astimezone(zone)
    return f"<lastmod>{value.year:04d}-{value.month:02d}-{value.day:02d}</lastmod>"
