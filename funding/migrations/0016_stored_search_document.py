"""The site search's weighted document stored with each funding record, kept by a trigger
(``migrationsupport.fulltext``): ranking the records linked to a country built the document of
every one of them per search. The full-text index moves from the expression to the column."""

import django.contrib.postgres.indexes
from django.db import migrations

import migrationsupport.fulltext
from migrationsupport.operations import AddIndexOnPostgreSQL, RemoveIndexOnPostgreSQL

store, drop = migrationsupport.fulltext.document_trigger(
    "funding_fundingrecord", "search_document", {"A": ("title",), "B": ("description", "implementer")}
)


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0015_stored_set_size"),
    ]

    operations = [
        migrations.AddField(
            model_name="fundingrecord",
            name="search_document",
            field=migrationsupport.fulltext.SearchDocumentField(editable=False, null=True),
        ),
        migrations.RunPython(store, drop),
        RemoveIndexOnPostgreSQL(model_name="fundingrecord", name="funding_search_idx"),
        AddIndexOnPostgreSQL(
            model_name="fundingrecord",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_document"], name="funding_search_idx"),
        ),
    ]
