"""The officers' roles (``migrationsupport.roles``: who may do what), so they exist on every fresh
database.

On a fresh database ``post_migrate`` (which creates permissions) has not run yet when this
migration runs, so ``roles.grant`` creates the content types and permissions it needs itself.
``post_migrate`` grants the roles again after every complete ``migrate`` and after ``flush``.
"""

from django.db import migrations

from migrationsupport import roles

DOMAIN_APPS = ("migrationsupport", "regions", "funding", "agreements")


def _domain_models(apps):
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            # Publishable records have a status; historical models (history_id) are not edited.
            field_names = {f.name for f in model._meta.get_fields()}
            if "status" in field_names and "history_id" not in field_names:
                yield model


def create_roles(apps, schema_editor):
    roles.grant(apps, _domain_models(apps), using=schema_editor.connection.alias)


def remove_roles(apps, schema_editor):
    roles.remove(apps, using=schema_editor.connection.alias)


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
