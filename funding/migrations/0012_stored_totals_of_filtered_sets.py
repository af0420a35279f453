from django.db import migrations, models

# The stored totals are kept for several sets of records, each named by the fingerprint of the
# SQL that selects it (funding.rollup). The region filter's SQL reads the region tree (published
# sub-regions), so a write to regions makes the stored totals stale too, like a write to funding
# records (the trigger function of 0008).
TABLE = "regions_region"


def add_trigger(apps, schema_editor):
    # Rows stored before have no set: stale until the first rebuild, like a new database.
    apps.get_model("funding", "FundingTotalsChange").objects.create()
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_totals_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {TABLE} FOR EACH STATEMENT EXECUTE FUNCTION funding_totals_changed()"
    )


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_totals_changed ON {TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0011_dac_purpose_donor_iati_identifier"),
        ("regions", "0005_seed_statuses_not_stated"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="fundingtotalsrow", name="funding_totals_grouping_idx"),
        migrations.AddField(
            model_name="fundingtotalsrow",
            name="totals_set",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="fundingtotalsrow",
            index=models.Index(fields=["totals_set", "grouping"], name="funding_totals_set_idx"),
        ),
        migrations.CreateModel(
            name="FundingTotalsSet",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=64)),
                ("grouping", models.CharField(blank=True, max_length=12)),
                ("name", models.CharField(max_length=200)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("key", "grouping"), name="funding_totals_set_unique")
                ],
            },
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
