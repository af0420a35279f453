"""Import and export of countries (CSV, XLSX), matched on their ISO 3166-1 alpha-2 code."""

from __future__ import annotations

from migrationsupport.models import Source
from migrationsupport.resources import PublishableResource, related

from .models import Country, Region


class CountryResource(PublishableResource):
    region = related("region", Region)
    source = related("source", Source)

    class Meta:
        model = Country
        import_id_fields = ("iso_code",)
        fields = (
            "iso_code",
            "name",
            "slug",
            "region",
            "candidate_status",
            "eastern_partnership_member",
            "eastern_partnership_left",
            "eastern_partnership_left_precision",
            "cooperation_status",
            "cooperation_suspended_since",
            "cooperation_suspended_since_precision",
            "cooperation_note",
            "source",
            "status",
            "version",
        )
        export_order = fields
