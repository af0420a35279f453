from django.db import migrations, models

from migrationsupport.operations import AddConstraintKeepingSQLite


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0006_seed_measures_passages_overlap"),
    ]

    operations = [
        AddConstraintKeepingSQLite(
            model_name='fundingrecord',
            constraint=models.CheckConstraint(condition=models.Q(('amount__isnull', True), models.Q(('measure', ''), _negated=True), _connector='OR'), name='funding_amount_has_measure'),
        ),
    ]
