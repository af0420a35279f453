from django.urls import path

from . import views

app_name = "regions"

urlpatterns = [
    path("regions/<slug:slug>/", views.RegionDetailView.as_view(), name="region-detail"),
    path("countries/<str:iso_code>/", views.CountryDetailView.as_view(), name="country-detail"),
    path("routes/<slug:slug>/", views.RouteDetailView.as_view(), name="route-detail"),
]
