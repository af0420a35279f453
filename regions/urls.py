from django.urls import path

from . import views

app_name = "regions"

urlpatterns = [
    path("regions/", views.RegionListView.as_view(), name="region-list"),
    path("regions/<slug:slug>/", views.RegionDetailView.as_view(), name="region-detail"),
    path("countries/", views.CountryListView.as_view(), name="country-list"),
    path("countries/<str:iso_code>/", views.CountryDetailView.as_view(), name="country-detail"),
    path("routes/<slug:slug>/", views.RouteDetailView.as_view(), name="route-detail"),
]
