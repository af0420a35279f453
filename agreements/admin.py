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

from .lifecycle import OFFICIAL_ACTS
from .models import Agreement, AgreementEvent, AgreementStatus, Document
from .resources import AgreementResource
from .selectors import agreements_with_gaps, events_off_the_lifecycle

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


class LifecycleGapListFilter(admin.SimpleListFilter):
    """What an officer still has to record about an agreement's lifecycle (``agreements_with_gaps``)."""

    title = _("what is missing")
    parameter_name = "missing"

    def lookups(self, request, model_admin):
        return [
            ("status", _("Status not stated (no step, no stated status)")),
            ("dated_step", _("Status stated without a dated step")),
            ("skip_reason", _("Step out of lifecycle order without a reason")),
            ("reference", _("Official act without its CELEX or OJ reference")),
            ("nothing", _("Nothing")),
        ]

    def queryset(self, request, queryset):
        no_step = queryset.filter(has_events=False)
        match self.value():
            case "status":
                return no_step.filter(stated_status="")
            case "dated_step":
                return no_step.exclude(stated_status="")
            case "skip_reason":
                return queryset.filter(unexplained_skips=True)
            case "reference":
                return queryset.filter(missing_references=True)
            case "nothing":
                return queryset.filter(has_events=True, unexplained_skips=False, missing_references=False)
        return queryset


class LifecycleOrderListFilter(admin.SimpleListFilter):
    title = _("lifecycle order")
    parameter_name = "order"

    def lookups(self, request, model_admin):
        return [
            ("follows", _("Follows the step before")),
            ("explained", _("Out of order, reason recorded")),
            ("unexplained", _("Out of order, no reason")),
        ]

    def queryset(self, request, queryset):
        off = events_off_the_lifecycle().values("pk")
        match self.value():
            case "follows":
                return queryset.exclude(pk__in=off)
            case "explained":
                return queryset.filter(pk__in=off).exclude(transition_note="")
            case "unexplained":
                return queryset.filter(pk__in=off, transition_note="")
        return queryset


class OfficialReferenceListFilter(admin.SimpleListFilter):
    title = _("official reference")
    parameter_name = "reference"

    def lookups(self, request, model_admin):
        return [("recorded", _("Recorded")), ("missing", _("Missing for an official act"))]

    def queryset(self, request, queryset):
        match self.value():
            case "recorded":
                return queryset.exclude(official_reference="")
            case "missing":
                return queryset.filter(kind__in=OFFICIAL_ACTS, official_reference="")
        return queryset


class AgreementEventInline(PublishableInline):
    model = AgreementEvent
    fields = (
        "kind",
        "date",
        "date_precision",
        "description",
        "source",
        "official_reference",
        "transition_note",
        "status",
    )
    autocomplete_fields = ("source",)
    extra = 1


@admin.register(Agreement)
class AgreementAdmin(PublishableImportExportMixin, PublishableAdmin):
    resource_classes = [AgreementResource]
    export_select_related = ("region", "source")
    export_prefetch_related = ("parties", "themes")
    list_display = ("title", "kind", "party_list", "region", "current_status", "missing")
    list_select_related = ("region",)
    list_filter = (
        "kind",
        CurrentStatusListFilter,
        LifecycleGapListFilter,
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
        queryset = super().get_queryset(request).with_current_status().prefetch_related("parties")
        return agreements_with_gaps(queryset)

    @admin.display(description=_("parties"))
    def party_list(self, obj: Agreement) -> str:
        return names(obj.parties.all())

    @admin.display(description=_("current status"), ordering="current_status_code")
    def current_status(self, obj: Agreement) -> Message:
        return obj.current_status_label

    @admin.display(description=_("what is missing"))
    def missing(self, obj: Agreement) -> str:
        gaps = []
        if not getattr(obj, "has_events", True):
            gaps.append(_("a dated step") if obj.stated_status else _("any status"))
        if getattr(obj, "unexplained_skips", False):
            gaps.append(_("why a step is out of order"))
        if getattr(obj, "missing_references", False):
            gaps.append(_("an official reference"))
        return "; ".join(str(gap) for gap in gaps) or "–"


@admin.register(AgreementEvent)
class AgreementEventAdmin(PublishableAdmin):
    list_display = ("agreement", "kind", "date_display", "official_reference", "description")
    list_select_related = ("agreement",)
    list_filter = ("kind", "agreement__kind", LifecycleOrderListFilter, OfficialReferenceListFilter)
    search_fields = ("agreement__title", "description", "official_reference")
    autocomplete_fields = ("agreement", "source")
    date_hierarchy = "date"
    fieldsets = (
        (
            None,
            {"fields": ("agreement", "kind", ("date", "date_precision"), "description", "transition_note")},
        ),
        (_("Provenance"), {"fields": ("source", "official_reference")}),
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
