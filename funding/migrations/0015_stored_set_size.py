from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0014_follow_only_changes"),
    ]

    operations = [
        migrations.AddField(
            model_name="fundingtotalsset",
            name="size",
            field=models.BigIntegerField(null=True),
        ),
    ]
