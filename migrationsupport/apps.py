from django.apps import AppConfig


class MigrationSupportConfig(AppConfig):
    name = "migrationsupport"
    verbose_name = "Migration Support"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from .api.viewsets import SourceViewSet, ThemeViewSet
        from .cache import bump_content_version
        from .models import PublishableModel, Theme
        from .registry import registry
        from .search import CORE_RECORD_TYPES
        from .sitemaps import published_sitemap
        from .webhooks import events as webhook_events

        registry.search.extend(CORE_RECORD_TYPES)
        registry.sitemaps["themes"] = published_sitemap(Theme)
        registry.api("themes", ThemeViewSet, "theme")
        registry.api("sources", SourceViewSet, "source")

        def on_change(sender, instance, **kwargs):
            if isinstance(instance, PublishableModel) and not kwargs.get("raw", False):
                bump_content_version()

        post_save.connect(on_change, dispatch_uid="content-version-save", weak=False)
        post_delete.connect(on_change, dispatch_uid="content-version-delete", weak=False)
        m2m_changed.connect(on_change, dispatch_uid="content-version-m2m", weak=False)
        webhook_events.connect()
