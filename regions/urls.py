from django.urls import path

from . import views

app_name = "regions"

urlpatterns = [
    path("regions/", views.RegionListView.as_view(), name="region-list"),
    path("countries/", views.CountryListView.as_view(), name="country-list"),
    path("routes/", views.RouteListView.as_view(), name="route-list"),
]
