"""The API's addresses: ``/api/v1/`` (router root and endpoints), the OpenAPI schema and its docs.

The endpoints are those the apps registered (``registry.api_routes``) in their ``ready()``.

Every name is in the ``api`` namespace: ``api:funding-list``, ``api:country-detail``,
``api:schema``, ``api:docs``.
"""

from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from migrationsupport.api.changes import ChangeFeedView
from migrationsupport.api.errors import api_not_found
from migrationsupport.registry import registry

app_name = "api"

router = DefaultRouter()
router.include_format_suffixes = False
for route in registry.api_routes:
    router.register(route.prefix, route.viewset, basename=route.basename)

urlpatterns = [
    # /api/ is where people start: the current version's root. A temporary redirect (302), not a
    # permanent one: when a v2 comes, /api/ should lead there, and a 301 would stay cached in
    # browsers and clients pointing at v1. The query string (?format=json) is kept.
    path("", RedirectView.as_view(pattern_name="api:api-root", query_string=True), name="root"),
    path("v1/changes/", ChangeFeedView.as_view(), name="changes"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script from ?script: no inline script (the CSP forbids it).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    re_path(r"", api_not_found),
]
