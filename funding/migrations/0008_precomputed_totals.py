from django.db import migrations, models

# Statement-level triggers (PostgreSQL only; SQLite computes totals on each request): every
# statement that writes funding records, their regions, countries, key areas or overlap marks
# adds a FundingTotalsChange row in the same transaction, so stored totals are never taken for
# current after a change, whichever path made it. Inserts only: writers never wait on each other.
TABLES = (
    "funding_fundingrecord",
    "funding_fundingrecord_regions",
    "funding_fundingrecord_countries",
    "funding_fundingrecord_themes",
    "funding_fundingrecord_may_overlap",
)
FUNCTION = """
CREATE OR REPLACE FUNCTION funding_totals_changed() RETURNS trigger AS $$
BEGIN
    INSERT INTO funding_fundingtotalschange DEFAULT VALUES;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def add_triggers(apps, schema_editor):
    # Nothing is stored yet: stale until the first rebuild, whatever the database holds.
    apps.get_model("funding", "FundingTotalsChange").objects.create()
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_totals_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION funding_totals_changed()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_totals_changed ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS funding_totals_changed()")


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0007_amount_has_measure"),
    ]

    operations = [
        migrations.CreateModel(
            name="FundingTotalsChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
        ),
        migrations.CreateModel(
            name="FundingTotalsState",
            fields=[
                ("name", models.CharField(max_length=12, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="FundingTotalsRow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("grouping", models.CharField(blank=True, max_length=12)),
                ("row_kind", models.CharField(max_length=8)),
                ("group_key", models.TextField(blank=True)),
                ("measure", models.CharField(max_length=10)),
                ("donor", models.CharField(max_length=24)),
                ("part_donor", models.CharField(max_length=24, null=True)),
                ("amount", models.DecimalField(decimal_places=2, max_digits=24, null=True)),
                ("records", models.BigIntegerField()),
                ("more_than", models.BigIntegerField()),
                ("almost", models.BigIntegerField()),
                ("about", models.BigIntegerField()),
                ("record_id", models.BigIntegerField(null=True)),
                ("partner_id", models.BigIntegerField(null=True)),
                ("qualifier", models.CharField(max_length=10, null=True)),
            ],
            options={
                "indexes": [models.Index(fields=["grouping"], name="funding_totals_grouping_idx")],
            },
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
