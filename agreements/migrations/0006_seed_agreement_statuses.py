"""Agreement statuses only as the seed states them (issue 13, item 9).

For the seeded agreements that cite the seed page and still hold the value the old fixture gave
them (anything an officer has changed since is left alone):

- Albania, Montenegro, Serbia: the seed says the EU "concluded" status agreements: "concluded",
  not "in force".
- EU-Belarus readmission agreement: the seed says cooperation with Belarus has been suspended since
  2020 and nothing about this agreement's status: no stated status.
- The EU "currently supports the implementation of agreements on visa facilitation (with Armenia,
  Azerbaijan ...) and readmission (all partners)": "being implemented", not "in force".
- Georgia, Moldova, Ukraine: "continued cooperation on visa liberalisation" names neither a dialogue
  nor a status: retitled "Cooperation on visa liberalisation with ...", no stated status.

Each changed agreement gets a history entry (simple_history's signals do not run in migrations),
so the change is visible and revertible.
"""

from django.db import migrations

from migrationsupport.migration_history import remember

SEED_SOURCE = "dg-near-migration-support"
REASON = "Issue 13: the status (and title) the seed states, nothing it does not"

# slug: {field: (value the old fixture gave, value the seed supports)}
CHANGES = {
    "eu-belarus-readmission-agreement": {"stated_status": ("in_force", "")},
    **{
        f"frontex-status-agreement-{country}": {"stated_status": ("in_force", "concluded")}
        for country in ("albania", "montenegro", "serbia")
    },
    **{
        slug: {"stated_status": ("in_force", "being_implemented")}
        for slug in (
            "eu-armenia-visa-facilitation-agreement",
            "eu-azerbaijan-visa-facilitation-agreement",
            "eu-armenia-readmission-agreement",
            "eu-azerbaijan-readmission-agreement",
            "eu-georgia-readmission-agreement",
            "eu-moldova-readmission-agreement",
            "eu-ukraine-readmission-agreement",
        )
    },
    **{
        f"eu-{country.lower()}-visa-liberalisation": {
            "stated_status": ("ongoing", ""),
            "title": (f"Visa liberalisation with {country}", f"Cooperation on visa liberalisation with {country}"),
        }
        for country in ("Georgia", "Moldova", "Ukraine")
    },
}
M2M_FIELDS = ("parties", "themes")


def forwards(apps, schema_editor):
    Agreement = apps.get_model("agreements", "Agreement")
    agreements = Agreement.objects.filter(source__slug=SEED_SOURCE, slug__in=CHANGES)
    for agreement in agreements.order_by("pk"):
        changed = False
        for field, (old, new) in CHANGES[agreement.slug].items():
            if getattr(agreement, field) == old:
                setattr(agreement, field, new)
                changed = True
        if changed:
            agreement.version += 1
            agreement.save()
            remember(apps, agreement, reason=REASON, m2m_fields=M2M_FIELDS)


class Migration(migrations.Migration):
    dependencies = [
        ("migrationsupport", "0001_initial"),
        ("agreements", "0005_concluded_adopted_being_implemented"),
    ]

    # Forwards only: going back cannot tell a seeded status from one an officer set since.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
