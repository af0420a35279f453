"""Import and export of agreements (CSV, XLSX), matched on their slug; parties by ISO code."""

from __future__ import annotations

from migrationsupport.models import Source, Theme
from migrationsupport.resources import PublishableResource, related, related_many
from regions.models import Country, Region

from .models import Agreement


class AgreementResource(PublishableResource):
    parties = related_many("parties", Country, field="iso_code", upper=True)
    region = related("region", Region)
    themes = related_many("themes", Theme)
    source = related("source", Source)

    class Meta:
        model = Agreement
        import_id_fields = ("slug",)
        fields = (
            "slug",
            "title",
            "kind",
            "parties",
            "region",
            "agency",
            "stated_status",
            "themes",
            "description",
            "source",
            "status",
            "version",
        )
        export_order = fields
