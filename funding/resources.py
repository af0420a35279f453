"""Import and export of funding records (CSV, XLSX), matched on their slug."""

from __future__ import annotations

from migrationsupport.models import Source, Theme
from migrationsupport.resources import PublishableResource, related, related_many
from regions.models import Country, Region

from .models import FundingRecord, Instrument, PledgingConference


class FundingRecordResource(PublishableResource):
    instrument = related("instrument", Instrument)
    conference = related("conference", PledgingConference)
    parent = related("parent", FundingRecord)
    source = related("source", Source)
    regions = related_many("regions", Region)
    countries = related_many("countries", Country, field="iso_code", upper=True)
    themes = related_many("themes", Theme)
    may_overlap = related_many("may_overlap", FundingRecord)

    class Meta:
        model = FundingRecord
        import_id_fields = ("slug",)
        fields = (
            "slug",
            "title",
            "kind",
            "amount",
            "qualifier",
            "wording",
            "measure",
            "period_start",
            "period_start_precision",
            "period_end",
            "period_end_precision",
            "donor",
            "donor_iati_identifier",
            "dac_purpose_code",
            "implementer",
            "instrument",
            "conference",
            "parent",
            "regions",
            "countries",
            "themes",
            "description",
            "source",
            "source_passage",
            "may_overlap",
            "status",
            "version",
        )
        export_order = fields
