from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from . import health, robots
from .sitemaps import sitemaps

SITEMAPS = sitemaps()

handler500 = "migrationsupport.errors.server_error"

urlpatterns = [
    path("", include("migrationsupport.site.urls")),
    path("", include("regions.urls")),
    path("", include("funding.urls")),
    path("", include("agreements.urls")),
    path("api/", include("migrationsupport.site.api_urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("robots.txt", robots.robots_txt, name="robots-txt"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
        name="sitemap",
    ),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": SITEMAPS}, name="sitemap-section"),
]
