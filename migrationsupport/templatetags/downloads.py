"""The CSV download link of a list page: the API list's CSV with the page's own filters."""

from __future__ import annotations

from django import template
from django.urls import reverse

register = template.Library()

#: Query parameters of a page that are not filters: the API's CSV is the whole filtered set.
NOT_FILTERS = ("page", "page_size", "format")


@register.simple_tag(takes_context=True)
def csv_url(context, url_name: str) -> str:
    """``{% csv_url "api:agreement-list" %}``: the address of that API list as CSV, with the
    filters of this page's address (the API and the page share one FilterSet, so the names are
    the same). The CSV streams every matching record (``migrationsupport.api.csv``)."""
    query = context["request"].GET.copy()
    for name in NOT_FILTERS:
        query.pop(name, None)
    query["format"] = "csv"
    return f"{reverse(url_name)}?{query.urlencode()}"
