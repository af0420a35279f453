"""Admin for money: instruments, pledging conferences and funding records with their parts."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from migrationsupport.admin import (
    ManyToManyListFilter,
    PublishableAdmin,
    PublishableImportExportMixin,
    PublishableInline,
    TopLevelListFilter,
    names,
)

from .models import FundingRecord, Instrument, PledgingConference
from .resources import FundingRecordResource


@admin.register(Instrument)
class InstrumentAdmin(PublishableAdmin):
    list_display = ("name", "short_name", "region_list", "source")
    list_select_related = ("source",)
    list_filter = (ManyToManyListFilter.of("regions"),)
    search_fields = ("name", "short_name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("regions", "source")
    fieldsets = (
        (None, {"fields": ("name", "short_name", "slug", "description")}),
        (_("Where"), {"fields": ("regions",)}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("regions"))
    def region_list(self, obj: Instrument) -> str:
        return names(obj.regions.all())


@admin.register(PledgingConference)
class PledgingConferenceAdmin(PublishableAdmin):
    list_display = ("name", "edition", "date_display", "place", "host", "region_list")
    list_filter = (ManyToManyListFilter.of("regions"),)
    search_fields = ("name", "slug", "place", "host")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("regions", "source")
    date_hierarchy = "date"
    fieldsets = (
        (None, {"fields": ("name", "slug", "edition")}),
        (_("When and where"), {"fields": (("date", "date_precision"), ("place", "host"), "regions")}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("date"), ordering="date")
    def date_display(self, obj: PledgingConference):
        return obj.date_display

    @admin.display(description=_("regions"))
    def region_list(self, obj: PledgingConference) -> str:
        return names(obj.regions.all())


class ChildFundingInline(PublishableInline):
    """The parts of a figure, e.g. the programmes inside a package; open one for every field."""

    model = FundingRecord
    fk_name = "parent"
    verbose_name = _("part")
    verbose_name_plural = _("parts of this figure")
    fields = ("title", "slug", "kind", "amount", "qualifier", "source", "status")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("source",)
    show_change_link = True
    extra = 0


@admin.register(FundingRecord)
class FundingRecordAdmin(PublishableImportExportMixin, PublishableAdmin):
    resource_classes = [FundingRecordResource]
    export_select_related = ("instrument", "conference", "parent", "source")
    export_prefetch_related = ("regions", "countries", "themes")
    list_display = (
        "title",
        "amount_display",
        "period_display",
        "kind",
        "donor",
        "instrument",
        "region_list",
        "parent",
    )
    list_select_related = ("instrument", "parent")
    # The explorer's order, which funding_latest_first_idx serves (the model's "-period_start"
    # puts undated records first and would sort 100 000 rows for each page); "id" last keeps it
    # total, so the changelist adds no "-pk" the index does not have.
    ordering = (
        F("period_start").desc(nulls_last=True),
        F("amount").desc(nulls_last=True),
        "title",
        "id",
    )
    list_filter = (
        "kind",
        "donor",
        "instrument",
        ManyToManyListFilter.of("regions"),
        "qualifier",
        TopLevelListFilter,
        # Not RelatedOnlyFieldListFilter: it reads the conference of every record (100 000 rows)
        # to list the few conferences; conferences are few, so list them all.
        "conference",
        ManyToManyListFilter.of("themes"),
    )
    search_fields = ("title", "slug", "implementer")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("instrument", "conference", "regions", "countries", "themes", "parent", "source")
    date_hierarchy = "period_start"
    inlines = (ChildFundingInline,)
    fieldsets = (
        (None, {"fields": ("title", "slug", "kind", "description")}),
        (_("Amount"), {"fields": (("amount", "qualifier", "wording"),)}),
        (
            _("Period"),
            {"fields": (("period_start", "period_start_precision"), ("period_end", "period_end_precision"))},
        ),
        (_("Who"), {"fields": ("donor", "implementer", "instrument", "conference")}),
        (_("Where and what"), {"fields": ("regions", "countries", "themes")}),
        (_("Part of"), {"fields": ("parent",)}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: FundingRecord):
        return obj.amount_display

    @admin.display(description=_("period"), ordering="period_start")
    def period_display(self, obj: FundingRecord) -> str | None:
        return obj.period_display or None

    @admin.display(description=_("regions"))
    def region_list(self, obj: FundingRecord) -> str:
        return names(obj.regions.all())
