"""Agreements in the order the region digests list them (kind, title, id): a region's first
agreements by its parties' regions are found by walking this index
(``migrationsupport.site.digests``) instead of ranking every agreement with a party there."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0009_stored_search_document"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="agreement",
            index=models.Index(fields=["kind", "title", "id"], name="agreement_kind_title_idx"),
        ),
    ]
