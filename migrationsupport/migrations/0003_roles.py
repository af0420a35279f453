"""The officers' roles, so they exist on every fresh database.

Editor: view, add and change every domain record. What an Editor may do with a record depends on
its status too (a published record is read-only for them, new records are drafts): the admin and
``migrationsupport.services`` enforce that per record.
Publisher: everything an Editor can, plus delete and the per-model ``publish_<model>`` permission.

On a fresh database ``post_migrate`` (which creates permissions) has not run yet when this
migration runs, so it creates the content types and permissions it needs itself.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

DOMAIN_APPS = ("migrationsupport", "regions", "funding", "agreements")
EDITOR_ACTIONS = ("view", "add", "change")
PUBLISHER_ACTIONS = (*EDITOR_ACTIONS, "delete", "publish")


def _domain_models(apps):
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            # Publishable records have a status; historical models (history_id) are not edited.
            field_names = {f.name for f in model._meta.get_fields()}
            if "status" in field_names and "history_id" not in field_names:
                yield model


def create_roles(apps, schema_editor):
    alias = schema_editor.connection.alias
    for label in DOMAIN_APPS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=alias)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    for role, actions in (("Editor", EDITOR_ACTIONS), ("Publisher", PUBLISHER_ACTIONS)):
        group, _ = Group.objects.using(alias).get_or_create(name=role)
        for model in _domain_models(apps):
            content_type = ContentType.objects.db_manager(alias).get_for_model(model)
            codenames = [f"{action}_{model._meta.model_name}" for action in actions]
            group.permissions.add(
                *Permission.objects.using(alias).filter(content_type=content_type, codename__in=codenames)
            )


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=("Editor", "Publisher")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("migrationsupport", "0002_publish_permissions"),
        ("regions", "0003_publish_permissions"),
        ("funding", "0002_publish_permissions"),
        ("agreements", "0003_publish_permissions"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
