"""The API's addresses: ``/api/v1/`` (router root and endpoints), the OpenAPI schema and its docs.

Every name is in the ``api`` namespace: ``api:funding-list``, ``api:country-detail``,
``api:schema``, ``api:docs``.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from agreements.api import AgreementEventViewSet, AgreementViewSet, DocumentViewSet
from funding.api import FundingRecordViewSet, InstrumentViewSet, PledgingConferenceViewSet
from regions.api import (
    CountryViewSet,
    PopulationFigureViewSet,
    RegionViewSet,
    RouteFigureViewSet,
    RouteViewSet,
)

from .api.errors import api_not_found
from .api.viewsets import SourceViewSet, ThemeViewSet

app_name = "api"

router = DefaultRouter()
router.include_format_suffixes = False
router.register("regions", RegionViewSet, basename="region")
router.register("countries", CountryViewSet, basename="country")
router.register("routes", RouteViewSet, basename="route")
router.register("route-figures", RouteFigureViewSet, basename="route-figure")
router.register("population-figures", PopulationFigureViewSet, basename="population-figure")
router.register("instruments", InstrumentViewSet, basename="instrument")
router.register("funding", FundingRecordViewSet, basename="funding")
router.register("conferences", PledgingConferenceViewSet, basename="conference")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("agreement-events", AgreementEventViewSet, basename="agreement-event")
router.register("documents", DocumentViewSet, basename="document")
router.register("themes", ThemeViewSet, basename="theme")
router.register("sources", SourceViewSet, basename="source")

urlpatterns = [
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
