from django.db import migrations, models

# The follow-through of the large sets of pledges is stored beside their totals (funding.rollup):
# it reads the fulfilment links and the conferences' dates too, so a write to either makes the
# stored answers stale, like a write to funding records (the trigger function of 0008).
TABLES = ("funding_fulfilment", "funding_pledgingconference")


def add_triggers(apps, schema_editor):
    # Answers stored before read neither table's state as current: stale until the next rebuild.
    apps.get_model("funding", "FundingTotalsChange").objects.create()
    if schema_editor.connection.vendor != "postgresql":
        return
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


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0012_stored_totals_of_filtered_sets"),
    ]

    operations = [
        migrations.CreateModel(
            name="FundingFollowThroughStored",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=64, unique=True)),
                ("name", models.CharField(max_length=200)),
                ("value", models.TextField()),
            ],
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
