"""The site search's weighted documents stored with each agreement and key document, kept by
triggers (``migrationsupport.fulltext``); the full-text indexes move from the expressions to the
columns."""

import django.contrib.postgres.indexes
from django.db import migrations

import migrationsupport.fulltext
from migrationsupport.operations import AddIndexOnPostgreSQL, RemoveIndexOnPostgreSQL

store_agreements, drop_agreements = migrationsupport.fulltext.document_trigger(
    "agreements_agreement", "search_document", {"A": ("title",), "D": ("description",)}
)
store_documents, drop_documents = migrationsupport.fulltext.document_trigger(
    "agreements_document", "search_document", {"A": ("title",), "B": ("summary", "author")}
)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0008_lifecycle_steps_official_reference"),
    ]

    operations = [
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
        migrations.RunPython(store_agreements, drop_agreements),
        migrations.RunPython(store_documents, drop_documents),
        RemoveIndexOnPostgreSQL(model_name="agreement", name="agreement_search_idx"),
        RemoveIndexOnPostgreSQL(model_name="document", name="document_search_idx"),
        AddIndexOnPostgreSQL(
            model_name="agreement",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_document"], name="agreement_search_idx"),
        ),
        AddIndexOnPostgreSQL(
            model_name="document",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_document"], name="document_search_idx"),
        ),
    ]
