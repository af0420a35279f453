"""The site search's weighted documents stored with each agreement and key document, kept by
triggers (``migrationsupport.fulltext``); the full-text indexes move from the expressions to the
columns.

The triggers' expressions are the ones ``migrationsupport.search.text_vector`` builds (an
agreement: title A, description D, often a passage shared by many agreements; a document: title
A, summary and author B), written out here as of this migration; ``tests/site/test_search.py``
checks that they agree."""

import django.contrib.postgres.indexes
from django.db import migrations

import migrationsupport.fulltext
from migrationsupport.operations import AddIndexOnPostgreSQL, RemoveIndexOnPostgreSQL

FUNCTIONS = (
    """
CREATE OR REPLACE FUNCTION agreements_agreement_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document :=
        setweight(to_tsvector('ms_english'::regconfig, COALESCE(NEW.title::text, '')), 'A')
        || setweight(to_tsvector('ms_english'::regconfig, COALESCE(NEW.description::text, '')), 'D');
    RETURN NEW;
END
$$ LANGUAGE plpgsql
""",
    """
CREATE OR REPLACE FUNCTION agreements_document_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document :=
        setweight(to_tsvector('ms_english'::regconfig, COALESCE(NEW.title::text, '')), 'A')
        || setweight(to_tsvector('ms_english'::regconfig,
            COALESCE(NEW.summary::text, '') || ' ' || COALESCE(NEW.author::text, '')), 'B');
    RETURN NEW;
END
$$ LANGUAGE plpgsql
""",
)
# On an insert, and on an update that sets the text or the document itself (Django writes back the
# copy it read: the trigger replaces it).
TRIGGERS = (
    """
CREATE TRIGGER agreements_agreement_search_document
BEFORE INSERT OR UPDATE OF title, description, search_document ON agreements_agreement
FOR EACH ROW EXECUTE FUNCTION agreements_agreement_search_document()
""",
    """
CREATE TRIGGER agreements_document_search_document
BEFORE INSERT OR UPDATE OF title, summary, author, search_document ON agreements_document
FOR EACH ROW EXECUTE FUNCTION agreements_document_search_document()
""",
)
TABLES = ("agreements_agreement", "agreements_document")


def store(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for function, trigger, table in zip(FUNCTIONS, TRIGGERS, TABLES, strict=True):
        schema_editor.execute(function)
        schema_editor.execute(trigger)
        # Setting the column fires the trigger, which writes each row's document.
        schema_editor.execute(f"UPDATE {table} SET search_document = NULL")  # noqa: S608 - a table named above


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_search_document ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_search_document()")


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0008_lifecycle_steps_official_reference"),
    ]

    operations = [
        # The expression indexes first: the rows' update below would otherwise update them too.
        RemoveIndexOnPostgreSQL(model_name="agreement", name="agreement_search_idx"),
        RemoveIndexOnPostgreSQL(model_name="document", name="document_search_idx"),
        migrations.AddField(
            model_name="agreement",
            name="search_document",
            field=migrationsupport.fulltext.SearchDocumentField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="document",
            name="search_document",
            field=migrationsupport.fulltext.SearchDocumentField(editable=False, null=True),
        ),
        migrations.RunPython(store, drop),
        AddIndexOnPostgreSQL(
            model_name="agreement",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_document"], name="agreement_search_idx"),
        ),
        AddIndexOnPostgreSQL(
            model_name="document",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_document"], name="document_search_idx"),
        ),
    ]
