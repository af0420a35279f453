"""Accent-insensitive site search (issue 17, point 2): the ``unaccent`` and ``pg_trgm`` extensions
and a text search configuration, ``ms_english``, that is PostgreSQL's ``english`` with every word
passed through ``unaccent`` before stemming, so "Turkiye" and "Türkiye" give the same lexeme.

A configuration rather than ``unaccent()`` around every column: ``to_tsvector('ms_english', …)``
is immutable, so an expression index can serve it, and the words are unaccented once, where they
are parsed. ``pg_trgm`` (already created by funding's indexes) serves "did you mean"; creating it
here too keeps the core independent of the order the apps migrate in.

On SQLite (local development only) nothing is created: search there is a plain match.
"""

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

CONFIGURATION = "ms_english"

CREATE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{CONFIGURATION}') THEN
        CREATE TEXT SEARCH CONFIGURATION {CONFIGURATION} (COPY = pg_catalog.english);
        ALTER TEXT SEARCH CONFIGURATION {CONFIGURATION}
            ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
    END IF;
END
$$;
"""
DROP = f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIGURATION};"


def create_configuration(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_configuration(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("migrationsupport", "0003_roles")]

    operations = [
        UnaccentExtension(),
        TrigramExtension(),
        migrations.RunPython(create_configuration, drop_configuration, elidable=False),
    ]
