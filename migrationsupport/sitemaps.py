"""sitemap.xml sections: every published record's page, from the same published() the pages use.

Each app registers its sections (``registry.sitemaps``) and list pages (``registry.list_pages``)
from its ``AppConfig.ready()``; ``sitemaps()`` gathers them for the sitemap views.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.sitemaps import Sitemap
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import Count, Max, QuerySet
from django.urls import reverse

from .registry import registry

#: A page number past any section: its OFFSET, even at 50 000 addresses a file, stays within what
#: PostgreSQL accepts (a bigint), so a larger number asked for is a 404 like any page past the end.
MAX_PAGE = 10**12


class PublishedSitemap(Sitemap):
    model = None
    #: Addresses per file (the protocol allows 50 000): a file of 1 000 takes about 19 ms of
    #: CPU to build at +100 000 records (docs/performance.md), and the index's ``?p=`` pages are
    #: one aggregate query away.
    limit = 1000

    def items(self):
        # Just what an address is made of (``PublishableModel.ADDRESS_COLUMNS``) and the last change.
        columns = self.model.ADDRESS_COLUMNS
        return self.model.objects.published().order_by("pk").only("pk", *columns, "updated_at")

    def lastmod(self, obj):
        return obj.updated_at

    #: The number of items, read with the last change for sitemap.xml (``get_latest_lastmod``).
    counted: int | None = None

    #: How a section too large to count row by row counts its items instead (the funding
    #: records' stored count, ``funding.rollup.count``): then its last change is an aggregate
    #: of its own (``MAX``, which an index on the model's status and last change answers).
    count_items: Callable[[QuerySet], int] | None = None

    def get_latest_lastmod(self):
        """The section's last change, for sitemap.xml, and the number of its items for the
        index's page links (``paginator``): one aggregate query for both, or two with
        ``count_items``. Django's default calls ``lastmod`` on every item, loading all 100 000
        funding records (1.5 s), and counts them apart."""
        items = self.items()
        if self.count_items is not None:
            self.counted = self.count_items(items)
            return items.aggregate(latest=Max("updated_at"))["latest"]
        found = items.aggregate(latest=Max("updated_at"), count=Count("pk"))
        self.counted = found["count"]
        return found["latest"]

    @property
    def paginator(self):
        pages = super().paginator
        if self.counted is not None:  # this instance (one request's) has counted them
            pages.count = self.counted
        return pages

    def get_urls(self, page=1, site=None, protocol=None):
        """What templates/sitemap.xml writes of each address on page ``page`` (its location and
        last change, from ``location`` and ``lastmod``), with the page's latest change for the
        Last-Modified header, as Django's ``get_urls`` gives them without its per-address
        lookups (priority, change frequency, languages: none here, ``tests/site/test_sitemaps.py``)
        and without counting the section first: the page's slice is one query, and a page past
        the end is empty (the view's 404)."""
        try:
            number = int(page)
        except (TypeError, ValueError):
            raise PageNotAnInteger(page) from None
        if not 0 < number <= MAX_PAGE:  # no OFFSET PostgreSQL would refuse (a 500, not a 404)
            raise EmptyPage(page)
        start = (number - 1) * self.limit
        items = list(self.items()[start : start + self.limit])
        if not items and number != 1:  # the first page of an empty section is an empty file
            raise EmptyPage(page)
        base = f"{self.get_protocol(protocol)}://{self.get_domain(site)}"
        urls = [
            {"item": item, "location": base + self.location(item), "lastmod": self.lastmod(item)}
            for item in items
        ]
        if items:
            self.latest_lastmod = max(url["lastmod"] for url in urls)
        return urls


def published_sitemap(model_class, *, count_items=None) -> type[PublishedSitemap]:
    return type(
        f"{model_class.__name__}Sitemap",
        (PublishedSitemap,),
        {"model": model_class, "count_items": staticmethod(count_items) if count_items else None},
    )


class PagesSitemap(Sitemap):
    """The list pages the apps registered."""

    def items(self):
        return list(registry.list_pages)

    def location(self, item):
        return reverse(item)


def sitemaps() -> dict[str, type[Sitemap]]:
    """Every section: the list pages, then the apps' record pages in registration order."""
    return {"pages": PagesSitemap, **registry.sitemaps}
