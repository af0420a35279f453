from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "agreements"

    def ready(self) -> None:
        from migrationsupport.registry import registry
        from migrationsupport.sitemaps import published_sitemap

        from . import api, search
        from .models import Agreement, Document

        registry.search.extend(search.RECORD_TYPES)
        registry.list_pages.extend(
            ["agreements:agreement-list", "agreements:agreement-timeline", "agreements:document-list"]
        )
        registry.sitemaps.update(
            agreements=published_sitemap(Agreement), documents=published_sitemap(Document)
        )
        registry.api("agreements", api.AgreementViewSet, "agreement")
        registry.api("agreement-events", api.AgreementEventViewSet, "agreement-event")
        registry.api("documents", api.DocumentViewSet, "document")
