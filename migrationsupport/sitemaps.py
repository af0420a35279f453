"""sitemap.xml sections: every published record's page, from the same published() the pages use.

Each app registers its sections (``registry.sitemaps``) and list pages (``registry.list_pages``)
from its ``AppConfig.ready()``; ``sitemaps()`` gathers them for the sitemap views.
"""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.db.models import Count, Max
from django.urls import reverse

from .registry import registry


class PublishedSitemap(Sitemap):
    model = None
    #: Addresses per file (the protocol allows 50 000): a file of 1 000 takes about 25 ms of
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

    def get_latest_lastmod(self):
        """The section's last change, for sitemap.xml: one aggregate query, which also counts
        the items for the index's page links (``paginator``). Django's default calls ``lastmod``
        on every item, loading all 100 000 funding records (1.5 s), and counts them apart."""
        found = self.items().aggregate(latest=Max("updated_at"), count=Count("pk"))
        self.counted = found["count"]
        return found["latest"]

    @property
    def paginator(self):
        pages = super().paginator
        if self.counted is not None:  # this instance (one request's) has counted them
            pages.count = self.counted
        return pages


def published_sitemap(model_class) -> type[PublishedSitemap]:
    return type(
        f"{model_class.__name__}Sitemap",
        (PublishedSitemap,),
        {"model": model_class},
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
