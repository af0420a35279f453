from django.apps import AppConfig


class MigrationSupportConfig(AppConfig):
    name = "migrationsupport"
    verbose_name = "Migration Support"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_delete
        from simple_history.signals import post_create_historical_record

        from . import changes, pgtypes, prepared
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
        pgtypes.connect()
        prepared.connect()

        post_create_historical_record.connect(
            changes.record_history_entry, dispatch_uid="public-changes-history", weak=False
        )
        pre_delete.connect(changes.touch_on_delete, dispatch_uid="public-changes-delete", weak=False)
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="public-changes-sync", weak=False)
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="officer-roles", weak=False)


def _migrations_remain(using: str) -> bool:
    """Whether ``using`` has migrations left to apply (its tables may not match the models yet)."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[using])
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def sync_after_migrate(sender, using="default", plan=None, **kwargs) -> None:
    """After a complete ``migrate``, records published before the change log existed (or made
    by ``bulk_create``) get their baseline rows (``changes.sync_public_changes``). Skipped while
    migrations remain unapplied (the models would not match the tables yet) and after ``flush``."""
    from . import changes

    if plan is None:  # ``flush`` empties the tables: nothing to sync
        return
    if _migrations_remain(using):
        return
    changes.sync_public_changes()


def ensure_roles(sender, using="default", plan=None, **kwargs) -> None:
    """The officers' roles (``migrationsupport.roles``) on every record type, after a complete
    ``migrate`` and after ``flush`` (which empties the roles' tables with all the others, and
    which every transactional test runs at its end). Skipped while migrations remain unapplied,
    as after migrating back before the roles' migration."""
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.db import router

    from . import roles, services

    if not router.allow_migrate_model(using, Group):
        return
    if plan is not None and _migrations_remain(using):  # ``flush`` (no plan) keeps the schema
        return
    roles.grant(apps, services.publishable_models(), using=using)
