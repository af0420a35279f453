"""Statuses only where a source states them; wording the source keeps (issue 13, items 8 and 9).

For the records that cite the seed page (and only those: a record citing another source keeps
what its officer recorded):

- a country's cooperation and candidate status become "not stated" where they still hold a value
  the seed does not state: the old defaults ("active", "none") and the six "candidate" countries
  the seed never calls candidates (it names Moldova, Ukraine and Georgia). Belarus (suspended since
  2020) and the three candidates are left as they are.
- the Türkiye figure "including Iraq, Afghanistan, Iran and Somalia" says its origins are examples.
- the three sentences that announce a list the seed does not give say so, instead of ending in a
  bare colon.

Each changed record gets a history entry (simple_history's signals do not run in migrations), so
the change is visible and revertible.
"""

import re

from django.db import migrations

from migrationsupport.migration_history import remember

SEED_SOURCE = "dg-near-migration-support"
NOT_STATED = "not_stated"
SEED_CANDIDATES = {"MD", "UA", "GE"}
OLD_SEED_CANDIDATES = {"TR", "AL", "BA", "ME", "MK", "RS"}
NON_EXHAUSTIVE_FIGURES = {"turkiye-asylum-seekers-refugees-other-countries"}
LIST_NOT_GIVEN = " <em>(the source does not list them)</em>"
ANNOUNCED_LISTS = (
    "two main financing instruments:",
    "the following two main instruments:",
    "NDICI programmes in this area include:",
)
REASON_STATUS = "Issue 13: statuses the cited source does not state are now not stated"
REASON_ORIGINS = 'Issue 13: the source lists the origins as examples ("including ...")'
REASON_LIST = "Issue 13: a list the source announces but does not give is shown as such"


def _save(apps, model_name, record, reason, m2m_fields=()):
    record.version += 1
    record.save()
    remember(apps, record, reason=reason, m2m_fields=m2m_fields)


def forwards(apps, schema_editor):
    Country = apps.get_model("regions", "Country")
    PopulationFigure = apps.get_model("regions", "PopulationFigure")
    Region = apps.get_model("regions", "Region")

    for country in Country.objects.filter(source__slug=SEED_SOURCE).order_by("pk"):
        changed = False
        if country.cooperation_status == "active":
            country.cooperation_status, changed = NOT_STATED, True
        if country.candidate_status == "none" or (
            country.candidate_status == "candidate" and country.iso_code in OLD_SEED_CANDIDATES
        ):
            country.candidate_status, changed = NOT_STATED, True
        if changed:
            _save(apps, "Country", country, REASON_STATUS)

    figures = PopulationFigure.objects.filter(
        source__slug=SEED_SOURCE, slug__in=NON_EXHAUSTIVE_FIGURES, origins_non_exhaustive=False
    )
    for figure in figures.order_by("pk"):
        figure.origins_non_exhaustive = True
        _save(apps, "PopulationFigure", figure, REASON_ORIGINS, m2m_fields=("origins",))

    for region in Region.objects.filter(source__slug=SEED_SOURCE).order_by("pk"):
        body = region.body
        for sentence in ANNOUNCED_LISTS:
            # Only where the sentence still ends its paragraph and no list follows it.
            pattern = re.escape(sentence) + r"</p>(?!\s*<[ou]l\b)"
            body = re.sub(pattern, f"{sentence}{LIST_NOT_GIVEN}</p>", body)
        if body != region.body:
            region.body = body
            _save(apps, "Region", region, REASON_LIST)


class Migration(migrations.Migration):
    dependencies = [
        ("migrationsupport", "0001_initial"),
        ("regions", "0004_not_stated_statuses_origins_non_exhaustive"),
    ]

    # Forwards only: going back cannot tell an unstated status from one an officer set since.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
