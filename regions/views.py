from __future__ import annotations

from migrationsupport.views import PublishedDetailView

from .models import Country, Region, Route


class RegionDetailView(PublishedDetailView):
    model = Region


class CountryDetailView(PublishedDetailView):
    model = Country
    slug_field = "iso_code"
    slug_url_kwarg = "iso_code"

    def get_object(self, queryset=None):
        self.kwargs["iso_code"] = self.kwargs["iso_code"].upper()
        return super().get_object(queryset)


class RouteDetailView(PublishedDetailView):
    model = Route
