"""The pages of the site layer; their names carry no namespace (``home``, ``region-detail``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("themes/", views.ThemeListView.as_view(), name="theme-list"),
    path("themes/<slug:slug>/", views.ThemeDetailView.as_view(), name="theme-detail"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("regions/<slug:slug>/", views.RegionDetailView.as_view(), name="region-detail"),
    path("countries/<str:iso_code>/", views.CountryDetailView.as_view(), name="country-detail"),
    path("routes/<slug:slug>/", views.RouteDetailView.as_view(), name="route-detail"),
    path("data/", views.DataView.as_view(), name="data"),
    path("data/eu-migration-support-datapackage.zip", views.DataPackageView.as_view(), name="data-package"),
    path("data/catalogue.ttl", views.CatalogueView.as_view(format="ttl"), name="data-catalogue-ttl"),
    path("data/catalogue.jsonld", views.CatalogueView.as_view(format="jsonld"), name="data-catalogue-jsonld"),
]
