"""The officers' roles: what an Editor and a Publisher may do with each record type.

Editor: view, add and change every domain record. What an Editor may do with a record depends on
its status too (a published record is read-only for them, new records are drafts): the admin and
``migrationsupport.services`` enforce that per record.
Publisher: everything an Editor can, plus delete and the per-model ``publish_<model>`` permission.

The one definition, used by the migrations that made the roles (``migrationsupport`` 0003, then
``funding`` 0010 for a later record type) and by ``post_migrate`` (``migrationsupport.apps``),
which ``manage.py flush`` also sends: a flushed database, as every transactional test leaves
behind, has its roles again. Migrations call :func:`grant` with their historical models, so it
reads models only through the ``apps`` it is given.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps.registry import Apps
from django.db import models
from django.db.models import Q

EDITOR = "Editor"
PUBLISHER = "Publisher"
EDITOR_ACTIONS = ("view", "add", "change")
PUBLISHER_ACTIONS = (*EDITOR_ACTIONS, "delete", "publish")
ROLES: dict[str, tuple[str, ...]] = {EDITOR: EDITOR_ACTIONS, PUBLISHER: PUBLISHER_ACTIONS}


def grant(apps: Apps, record_types: Iterable[type[models.Model]], *, using: str) -> None:
    """Make each role, if missing, and give it its actions' permissions on ``record_types``.

    Only adds: run again, it finds everything in place and writes nothing. The permissions are
    created first where missing (during ``migrate``, ``post_migrate`` has not created them yet;
    after ``flush`` it has not yet reached the later apps)."""
    from django.contrib.auth.management import create_permissions

    record_types = list(record_types)
    for label in sorted({model._meta.app_label for model in record_types}):
        app_config = apps.get_app_config(label)
        # A historical app has no models module, and create_permissions skips such an app.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True  # type: ignore[assignment]
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_types = ContentType.objects.db_manager(using).get_for_models(*record_types)
    for role, actions in ROLES.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = Q()
        for model, content_type in content_types.items():
            names = [f"{action}_{model._meta.model_name}" for action in actions]
            wanted |= Q(content_type=content_type, codename__in=names)
        if wanted:
            group.permissions.add(*Permission.objects.using(using).filter(wanted))


def remove(apps: Apps, *, using: str) -> None:
    """The roles deleted (migration 0003 reversed); their officers keep their accounts."""
    Group = apps.get_model("auth", "Group")
    Group.objects.using(using).filter(name__in=ROLES).delete()
