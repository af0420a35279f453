"""Agreement lifecycle (issue 19): the steps of the documented state machine (mandate adopted,
initialled, provisionally applied, terminated), an official reference and a "why this step does
not follow" note on each event.

The one seeded step the machine does not expect, North Macedonia's "operations launched" right
after "signed", gets the note saying what the seed states (and does not): no step is invented.
"""

import agreements.references
from django.db import migrations, models

from migrationsupport.migration_history import remember

SEED_SOURCE = "dg-near-migration-support"
NOTE = (
    "The seed states the signature (October 2022) and the launch of operations (April 2023); "
    "it gives no date of entry into force."
)


def note_seed_skip(apps, schema_editor):
    AgreementEvent = apps.get_model("agreements", "AgreementEvent")
    events = AgreementEvent.objects.filter(
        agreement__slug="frontex-status-agreement-north-macedonia",
        agreement__source__slug=SEED_SOURCE,
        kind="operations_launched",
        transition_note="",
    )
    for event in events.order_by("pk"):
        event.transition_note = NOTE
        event.version += 1
        event.save()
        remember(apps, event, reason="Issue 19: why the seeded step skips the entry into force")


class Migration(migrations.Migration):

    dependencies = [
        ('agreements', '0007_search_indexes_unaccent'),
        ('migrationsupport', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='agreementevent',
            name='official_reference',
            field=models.CharField(blank=True, help_text='The act that records this step: a CELEX number (32014D0252) or an Official Journal citation (OJ L 128, 30.4.2014, p. 15, or OJ L, 2024/1234, 22.5.2024).', max_length=80, validators=[agreements.references.validate_official_reference], verbose_name='official reference'),
        ),
        migrations.AddField(
            model_name='agreementevent',
            name='transition_note',
            field=models.CharField(blank=True, help_text='Only when the lifecycle does not expect this step after the previous one: what the source says (e.g. it gives the signature and the launch of operations, no entry into force).', max_length=500, verbose_name='why this step does not follow'),
        ),
        migrations.AddField(
            model_name='historicalagreementevent',
            name='official_reference',
            field=models.CharField(blank=True, help_text='The act that records this step: a CELEX number (32014D0252) or an Official Journal citation (OJ L 128, 30.4.2014, p. 15, or OJ L, 2024/1234, 22.5.2024).', max_length=80, validators=[agreements.references.validate_official_reference], verbose_name='official reference'),
        ),
        migrations.AddField(
            model_name='historicalagreementevent',
            name='transition_note',
            field=models.CharField(blank=True, help_text='Only when the lifecycle does not expect this step after the previous one: what the source says (e.g. it gives the signature and the launch of operations, no entry into force).', max_length=500, verbose_name='why this step does not follow'),
        ),
        migrations.AlterField(
            model_name='agreement',
            name='stated_status',
            field=models.CharField(blank=True, choices=[('mandate_adopted', 'Negotiating mandate adopted'), ('negotiating', 'Under negotiation'), ('initialled', 'Initialled'), ('concluded', 'Concluded'), ('signed', 'Signed'), ('provisionally_applied', 'Provisionally applied'), ('in_force', 'In force'), ('adopted', 'Adopted'), ('being_implemented', 'Being implemented'), ('operational', 'Operations launched'), ('ongoing', 'Ongoing'), ('partially_suspended', 'Partially suspended'), ('suspended', 'Suspended'), ('terminated', 'Terminated'), ('withdrawn', 'Withdrawn')], help_text='The status the source states when it gives no dated event (e.g. concluded, being implemented); leave empty when the source states none. Dated events on the timeline take precedence.', max_length=24),
        ),
        migrations.AlterField(
            model_name='agreementevent',
            name='kind',
            field=models.CharField(choices=[('mandate_adopted', 'Negotiating mandate adopted'), ('negotiations_opened', 'Negotiations opened'), ('initialled', 'Initialled'), ('concluded', 'Concluded'), ('signed', 'Signed'), ('provisionally_applied', 'Provisional application started'), ('adopted', 'Adopted'), ('entered_into_force', 'Entered into force'), ('operations_launched', 'Operations launched'), ('partially_suspended', 'Partially suspended'), ('suspended', 'Suspended'), ('resumed', 'Resumed'), ('terminated', 'Terminated'), ('withdrawn', 'Withdrawn')], max_length=24),
        ),
        migrations.AlterField(
            model_name='historicalagreement',
            name='stated_status',
            field=models.CharField(blank=True, choices=[('mandate_adopted', 'Negotiating mandate adopted'), ('negotiating', 'Under negotiation'), ('initialled', 'Initialled'), ('concluded', 'Concluded'), ('signed', 'Signed'), ('provisionally_applied', 'Provisionally applied'), ('in_force', 'In force'), ('adopted', 'Adopted'), ('being_implemented', 'Being implemented'), ('operational', 'Operations launched'), ('ongoing', 'Ongoing'), ('partially_suspended', 'Partially suspended'), ('suspended', 'Suspended'), ('terminated', 'Terminated'), ('withdrawn', 'Withdrawn')], help_text='The status the source states when it gives no dated event (e.g. concluded, being implemented); leave empty when the source states none. Dated events on the timeline take precedence.', max_length=24),
        ),
        migrations.AlterField(
            model_name='historicalagreementevent',
            name='kind',
            field=models.CharField(choices=[('mandate_adopted', 'Negotiating mandate adopted'), ('negotiations_opened', 'Negotiations opened'), ('initialled', 'Initialled'), ('concluded', 'Concluded'), ('signed', 'Signed'), ('provisionally_applied', 'Provisional application started'), ('adopted', 'Adopted'), ('entered_into_force', 'Entered into force'), ('operations_launched', 'Operations launched'), ('partially_suspended', 'Partially suspended'), ('suspended', 'Suspended'), ('resumed', 'Resumed'), ('terminated', 'Terminated'), ('withdrawn', 'Withdrawn')], max_length=24),
        ),
        migrations.RunPython(note_seed_skip, migrations.RunPython.noop),
    ]
