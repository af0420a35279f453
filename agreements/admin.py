"""Admin for commitments on paper: agreements with their timelines, and key policy documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from migrationsupport.admin import (
    ManyToManyListFilter,
    PublishableAdmin,
    PublishableImportExportMixin,
    PublishableInline,
    names,
)

from .models import Agreement, AgreementEvent, AgreementStatus, Document
from .resources import AgreementResource

if TYPE_CHECKING:
    from migrationsupport.models import Message


class CurrentStatusListFilter(admin.SimpleListFilter):
    """Filter on the status that follows from the latest published event (see ``with_current_status``)."""

    title = _("current status")
    parameter_name = "current_status"

    def lookups(self, request, model_admin):
        return AgreementStatus.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(current_status_code=self.value())
        return queryset


class AgreementEventInline(PublishableInline):
    model = AgreementEvent
    fields = ("kind", "date", "date_precision", "description", "source", "status")
    autocomplete_fields = ("source",)
    extra = 1


@admin.register(Agreement)
class AgreementAdmin(PublishableImportExportMixin, PublishableAdmin):
    resource_classes = [AgreementResource]
    export_select_related = ("region", "source")
    export_prefetch_related = ("parties", "themes")
    list_display = ("title", "kind", "party_list", "region", "current_status")
    list_select_related = ("region",)
    list_filter = (
        "kind",
        CurrentStatusListFilter,
        "stated_status",
        "agency",
        ("region", admin.RelatedOnlyFieldListFilter),
        "parties__candidate_status",
        ManyToManyListFilter.of("themes"),
    )
    search_fields = ("title", "slug", "parties__name", "parties__iso_code")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("parties", "region", "themes", "source")
    inlines = (AgreementEventInline,)
    fieldsets = (
        (None, {"fields": ("title", "slug", "kind", "agency", "description")}),
        (_("Who"), {"fields": ("parties", "region")}),
        (_("Status"), {"fields": ("stated_status",)}),
        (_("Themes"), {"fields": ("themes",)}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).with_current_status().prefetch_related("parties")

    @admin.display(description=_("parties"))
    def party_list(self, obj: Agreement) -> str:
        return names(obj.parties.all())

    @admin.display(description=_("current status"), ordering="current_status_code")
    def current_status(self, obj: Agreement) -> Message:
        return obj.current_status_label


@admin.register(AgreementEvent)
class AgreementEventAdmin(PublishableAdmin):
    list_display = ("agreement", "kind", "date_display", "description")
    list_select_related = ("agreement",)
    list_filter = ("kind", "agreement__kind")
    search_fields = ("agreement__title", "description")
    autocomplete_fields = ("agreement", "source")
    date_hierarchy = "date"
    fieldsets = (
        (None, {"fields": ("agreement", "kind", ("date", "date_precision"), "description")}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    @admin.display(description=_("date"), ordering="date")
    def date_display(self, obj: AgreementEvent):
        return obj.date_display


@admin.register(Document)
class DocumentAdmin(PublishableAdmin):
    list_display = ("title", "kind", "author", "date_display", "region_list")
    list_filter = (
        "kind",
        ManyToManyListFilter.of("regions"),
        ManyToManyListFilter.of("themes"),
        "date_precision",
    )
    search_fields = ("title", "slug", "author")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("regions", "countries", "themes", "source")
    date_hierarchy = "date"
    fieldsets = (
        (None, {"fields": ("title", "slug", "kind", "author", ("date", "date_precision"), "url")}),
        (_("Summary"), {"fields": ("summary",)}),
        (_("Where and what"), {"fields": ("regions", "countries", "themes")}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("date"), ordering="date")
    def date_display(self, obj: Document):
        return obj.date_display

    @admin.display(description=_("regions"))
    def region_list(self, obj: Document) -> str:
        return names(obj.regions.all())
