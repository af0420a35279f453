from django.apps import AppConfig


class FundingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "funding"

    def ready(self) -> None:
        from migrationsupport.registry import registry
        from migrationsupport.sitemaps import published_sitemap

        from . import api, search
        from .models import FundingRecord, Instrument, PledgingConference

        registry.search.extend(search.RECORD_TYPES)
        registry.list_pages.extend(["funding:explorer", "funding:instrument-list"])
        registry.sitemaps.update(
            instruments=published_sitemap(Instrument),
            conferences=published_sitemap(PledgingConference),
            funding=published_sitemap(FundingRecord),
        )
        registry.api("instruments", api.InstrumentViewSet, "instrument")
        registry.api("funding", api.FundingRecordViewSet, "funding")
        registry.api("conferences", api.PledgingConferenceViewSet, "conference")
