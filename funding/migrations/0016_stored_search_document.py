"""The site search's weighted document stored with each funding record, kept by a trigger
(``migrationsupport.fulltext``): ranking the records linked to a country built the document of
every one of them per search. The full-text index moves from the expression to the column.

The trigger's expression is the one ``migrationsupport.search.text_vector`` builds for funding
records (title A; description and implementer B), written out here as of this migration;
``tests/site/test_search.py`` checks that the two agree."""

import django.contrib.postgres.indexes
from django.db import migrations

import migrationsupport.fulltext
from migrationsupport.operations import AddIndexOnPostgreSQL, RemoveIndexOnPostgreSQL

FUNCTION = """
CREATE OR REPLACE FUNCTION funding_fundingrecord_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document :=
        setweight(to_tsvector('ms_english'::regconfig, COALESCE(NEW.title::text, '')), 'A')
        || setweight(to_tsvector('ms_english'::regconfig,
            COALESCE(NEW.description::text, '') || ' ' || COALESCE(NEW.implementer::text, '')), 'B');
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""
# On an insert, and on an update that sets the text or the document itself (Django writes back the
# copy it read: the trigger replaces it).
TRIGGER = """
CREATE TRIGGER funding_fundingrecord_search_document
BEFORE INSERT OR UPDATE OF title, description, implementer, search_document ON funding_fundingrecord
FOR EACH ROW EXECUTE FUNCTION funding_fundingrecord_search_document()
"""


def store(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(TRIGGER)
    # Setting the column fires the trigger, which writes each row's document.
    schema_editor.execute("UPDATE funding_fundingrecord SET search_document = NULL")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS funding_fundingrecord_search_document ON funding_fundingrecord")
    schema_editor.execute("DROP FUNCTION IF EXISTS funding_fundingrecord_search_document()")


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0015_stored_set_size"),
    ]

    operations = [
        # The expression index first: the rows' update below would otherwise update it too.
        RemoveIndexOnPostgreSQL(model_name="fundingrecord", name="funding_search_idx"),
        migrations.AddField(
            model_name="fundingrecord",
            name="search_document",
            field=migrationsupport.fulltext.SearchDocumentField(editable=False, null=True),
        ),
        migrations.RunPython(store, drop),
        AddIndexOnPostgreSQL(
            model_name="fundingrecord",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_document"], name="funding_search_idx"),
        ),
    ]
