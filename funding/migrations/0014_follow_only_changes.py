from django.db import migrations, models

# A write to the fulfilment links or the conferences changes what the stored follow-through
# says, not the stored totals (no stored set's SQL, nor the totals query, reads either table):
# their triggers add a change row marked ``follow_only``, which makes only the stored
# follow-through stale, instead of every stored total (0013's triggers).
TABLES = ("funding_fulfilment", "funding_pledgingconference")
FUNCTION = """
CREATE OR REPLACE FUNCTION funding_follow_changed() RETURNS trigger AS $$
BEGIN
    INSERT INTO funding_fundingtotalschange (follow_only) VALUES (true);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def _triggers(schema_editor, drop: str, create: str, function: str) -> None:
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{drop} ON {table}")
        schema_editor.execute(
            f"CREATE TRIGGER {table}_{create} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def follow_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    _triggers(schema_editor, "totals_changed", "follow_changed", "funding_follow_changed")


def totals_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _triggers(schema_editor, "follow_changed", "totals_changed", "funding_totals_changed")
    schema_editor.execute("DROP FUNCTION IF EXISTS funding_follow_changed()")


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0013_stored_follow_through"),
    ]

    operations = [
        migrations.AddField(
            model_name="fundingtotalschange",
            name="follow_only",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(follow_triggers, totals_triggers),
    ]
