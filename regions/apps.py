from django.apps import AppConfig


class RegionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "regions"

    def ready(self) -> None:
        from migrationsupport.registry import registry
        from migrationsupport.sitemaps import published_sitemap

        from . import api, search
        from .models import Country, Region, Route

        registry.search.extend(search.RECORD_TYPES)
        registry.search_names.append(search.country_names)
        registry.list_pages.extend(["regions:region-list", "regions:country-list", "regions:route-list"])
        registry.sitemaps.update(
            regions=published_sitemap(Region),
            countries=published_sitemap(Country),
            routes=published_sitemap(Route),
        )
        registry.api("regions", api.RegionViewSet, "region")
        registry.api("countries", api.CountryViewSet, "country")
        registry.api("routes", api.RouteViewSet, "route")
        registry.api("route-figures", api.RouteFigureViewSet, "route-figure")
        registry.api("population-figures", api.PopulationFigureViewSet, "population-figure")
        # Belarus's note, shown wherever the country is named.
        registry.noted_records.append(lambda: Country.objects.published().exclude(cooperation_note=""))
