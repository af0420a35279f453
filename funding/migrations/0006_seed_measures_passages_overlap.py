"""Every funding record with an amount says what it measures (issue 13).

The seed's records take their measure from the seed's own verb and keep the exact passage they
come from; the "launched in June 2023" programme becomes a point in time (it read "since June
2023"); the €36 million programme may overlap the "more than €350 million since 2021" (the seed
does not say whether it is part of it). Any other record with an amount gets "pledged" if it is a
pledge and "committed / allocated" otherwise, and a history entry that asks an officer to check it.
Each changed record gets a history entry, so the change is visible and revertible.
"""

import datetime

from django.db import migrations

from migrationsupport.migration_history import remember

SEED = {
    "syria-response-since-2011": (
        "mobilised",
        "The EU and its Member States have been the largest donors supporting people in Syria and the "
        "region since the beginning of the crisis in 2011, mobilizing more than €33 billion overall.",
    ),
    "syria-pledges-2024": (
        "pledged",
        "In 2024, the total amount pledged by the EU and its Member States amounted to almost €6 billion",
    ),
    "syria-commission-pledge-2024-2025": (
        "pledged",
        "with €2.12 billion pledged by the European Commission for 2024 and 2025",
    ),
    "turkiye-migration-border-management": (
        "committed",
        "To date the EU has allocated close to €900 million to support migration and border management "
        "in Türkiye.",
    ),
    "western-balkans-migration-management-since-2021": (
        "committed",
        "Since 2021, the EU has supported the Western Balkans with more than €350 million to improve "
        "migration management in the region. This includes the latest €60 million package adopted in 2024",
    ),
    "western-balkans-package-2024": (
        "committed",
        "This includes the latest €60 million package adopted in 2024 for Bosnia and Herzegovina, Serbia, "
        "Montenegro and North Macedonia.",
    ),
    "western-balkans-migration-governance-organised-crime-2024": (
        "committed",
        "This package covers €47 million of support to further strengthen the migration governance and "
        "fight against organised crime",
    ),
    "western-balkans-return-management-programme-2024": (
        "committed",
        "a €13 million programme to operationalise effective return management systems in the Western "
        "Balkans, in line with EU standards.",
    ),
    "western-balkans-anti-smuggling-programme": (
        "committed",
        # The source writes non-breaking spaces here.
        "A\u00a0regional programme\u00a0worth\u00a0€36 million focused on anti-smuggling in the Western "
        "Balkans was launched in June 2023",
    ),
    "western-balkans-frontex-ibm-programme": (
        "",
        "Additional support is provided to the region in the area of border management though a programme "
        "implemented by FRONTEX aimed at aligning IBM strategies of Western Balkan partners with European ones.",
    ),
    "western-balkans-ipa-asylum-reception-returns": (
        "",
        "supporting reception and protection as well as the management of returns across the region through "
        "bilateral support and an ongoing IPA programme.",
    ),
}
POINT_IN_TIME = {"western-balkans-anti-smuggling-programme": (datetime.date(2023, 6, 1), "month")}
MAY_OVERLAP = [("western-balkans-anti-smuggling-programme", "western-balkans-migration-management-since-2021")]
REASON = "Issue 13: what the figure measures, the source's passage, periods and possible overlaps"
M2M_FIELDS = ("regions", "countries", "themes", "may_overlap")


def forwards(apps, schema_editor):
    FundingRecord = apps.get_model("funding", "FundingRecord")
    records = {record.slug: record for record in FundingRecord.objects.order_by("pk")}
    changed = set()
    for one, other in MAY_OVERLAP:
        if one in records and other in records and not records[one].may_overlap.exists():
            records[one].may_overlap.add(records[other])
            records[other].may_overlap.add(records[one])
            changed |= {one, other}
    for slug, record in records.items():
        reason = REASON
        if slug in SEED:
            measure, passage = SEED[slug]
            if not record.measure and measure and record.amount is not None:
                record.measure = measure
                changed.add(slug)
            if not record.source_passage:
                record.source_passage = passage
                changed.add(slug)
        elif record.amount is not None and not record.measure:
            record.measure = "pledged" if record.kind == "pledge" else "committed"
            reason = f"{REASON}: measure set from the record's kind by a migration, an officer should check it"
            changed.add(slug)
        if slug in POINT_IN_TIME and record.period_end is None:
            record.period_start, record.period_start_precision = POINT_IN_TIME[slug]
            record.period_end, record.period_end_precision = POINT_IN_TIME[slug]
            changed.add(slug)
        if slug in changed:
            record.version += 1
            record.save()
            remember(apps, record, reason=reason, m2m_fields=M2M_FIELDS)


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0005_measure_passage_overlap"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
