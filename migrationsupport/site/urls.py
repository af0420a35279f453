"""The pages of the site layer; their names carry no namespace (``home``, ``region-detail``)."""

from django.urls import path

from . import changes, views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("themes/", views.ThemeListView.as_view(), name="theme-list"),
    path("themes/<slug:slug>/", views.ThemeDetailView.as_view(), name="theme-detail"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("changes/", changes.ChangesView.as_view(), name="changes"),
    path("changes/feed/", changes.ChangesFeed(), name="changes-feed"),
    path("changes/feed/region/<slug:key>/", changes.RegionChangesFeed(), name="changes-feed-region"),
    path("changes/feed/country/<str:key>/", changes.CountryChangesFeed(), name="changes-feed-country"),
    path(
        "changes/feed/instrument/<slug:key>/", changes.InstrumentChangesFeed(), name="changes-feed-instrument"
    ),
    path("changes/feed/agreement/<slug:key>/", changes.AgreementChangesFeed(), name="changes-feed-agreement"),
    path("regions/<slug:slug>/", views.RegionDetailView.as_view(), name="region-detail"),
    path("countries/<str:iso_code>/", views.CountryDetailView.as_view(), name="country-detail"),
    path("routes/<slug:slug>/", views.RouteDetailView.as_view(), name="route-detail"),
    path("data/", views.DataView.as_view(), name="data"),
    path("data/eu-migration-support-datapackage.zip", views.DataPackageView.as_view(), name="data-package"),
    path("data/catalogue.ttl", views.CatalogueView.as_view(format="ttl"), name="data-catalogue-ttl"),
    path("data/catalogue.jsonld", views.CatalogueView.as_view(format="jsonld"), name="data-catalogue-jsonld"),
]
