"""sitemap.xml: every published record's page, from the same published() the pages use."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from agreements.models import Agreement, Document
from funding.models import FundingRecord, Instrument, PledgingConference
from regions.models import Country, Region, Route

from .models import Theme


class PublishedSitemap(Sitemap):
    model = None
    limit = 5000

    def items(self):
        return self.model.objects.published().order_by("pk").only("pk", "slug", "updated_at")

    def lastmod(self, obj):
        return obj.updated_at


def published_sitemap(model_class):
    return type(f"{model_class.__name__}Sitemap", (PublishedSitemap,), {"model": model_class})


class CountrySitemap(PublishedSitemap):
    model = Country

    def items(self):
        return Country.objects.published().order_by("pk").only("pk", "iso_code", "updated_at")


class PagesSitemap(Sitemap):
    def items(self):
        return [
            "home",
            "regions:region-list",
            "regions:country-list",
            "funding:explorer",
            "funding:instrument-list",
            "agreements:agreement-list",
            "agreements:agreement-timeline",
            "agreements:document-list",
            "theme-list",
        ]

    def location(self, item):
        return reverse(item)


SITEMAPS = {
    "pages": PagesSitemap,
    "themes": published_sitemap(Theme),
    "regions": published_sitemap(Region),
    "countries": CountrySitemap,
    "routes": published_sitemap(Route),
    "instruments": published_sitemap(Instrument),
    "conferences": published_sitemap(PledgingConference),
    "funding": published_sitemap(FundingRecord),
    "agreements": published_sitemap(Agreement),
    "documents": published_sitemap(Document),
}
