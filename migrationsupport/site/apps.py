from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "migrationsupport.site"
    label = "site"
    verbose_name = "Migration Support site"

    def ready(self) -> None:
        from migrationsupport.registry import registry

        registry.list_pages[:0] = ["home", "theme-list"]
