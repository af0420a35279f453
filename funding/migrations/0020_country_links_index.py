from django.db import migrations

# The records linked to a country, read from this index alone (an index-only scan): Django's own
# index on the links' country_id points at their rows, and a search naming a country read all
# 7 818 links of Syria's that way at +100 000 funding records to keep the two that mention a word
# of it (docs/performance.md, "6 December 2026 (twelfth session)"). The links table is Django's
# auto-created one, so the index is SQL rather than Meta.indexes. Django's index on country_id alone
# is now redundant (this one's first column serves its lookups); left, as Django made it.
INDEX = "funding_country_record_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0019_status_updated_index"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {INDEX} ON funding_fundingrecord_countries (country_id, fundingrecord_id)",
            f"DROP INDEX {INDEX}",
        ),
    ]
