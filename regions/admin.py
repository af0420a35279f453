"""Admin for geography: regions, countries with their hosted populations, routes with figures."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from migrationsupport.admin import (
    ManyToManyListFilter,
    PublishableAdmin,
    PublishableImportExportMixin,
    PublishableInline,
    TopLevelListFilter,
    names,
)

from .models import Country, PopulationFigure, Region, Route, RouteFigure
from .resources import CountryResource


@admin.register(Region)
class RegionAdmin(PublishableAdmin):
    list_display = ("name", "parent", "order", "source")
    list_select_related = ("parent", "source")
    list_filter = (TopLevelListFilter, ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "slug", "summary")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent", "source")
    fieldsets = (
        (None, {"fields": ("name", "slug", "parent", "order")}),
        (_("Text"), {"fields": ("summary", "body")}),
        (_("Provenance"), {"fields": ("source",)}),
    )


class PopulationFigureInline(PublishableInline):
    model = PopulationFigure
    fk_name = "country"
    fields = (
        "group",
        "slug",
        "value",
        "qualifier",
        "wording",
        "as_of",
        "as_of_precision",
        "source",
        "status",
    )
    prepopulated_fields = {"slug": ("group",)}
    autocomplete_fields = ("source",)
    show_change_link = True
    extra = 0


@admin.register(Country)
class CountryAdmin(PublishableImportExportMixin, PublishableAdmin):
    resource_classes = [CountryResource]
    export_select_related = ("region", "source")
    list_display = (
        "name",
        "iso_code",
        "region",
        "candidate_status",
        "eastern_partnership_member",
        "cooperation_status",
    )
    list_select_related = ("region",)
    list_filter = (
        "region",
        "candidate_status",
        "eastern_partnership_member",
        "cooperation_status",
    )
    search_fields = ("name", "iso_code", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("region", "source")
    inlines = (PopulationFigureInline,)
    fieldsets = (
        (None, {"fields": ("name", "slug", "iso_code", "region")}),
        (
            _("Relations with the EU"),
            {
                "fields": (
                    "candidate_status",
                    (
                        "eastern_partnership_member",
                        "eastern_partnership_left",
                        "eastern_partnership_left_precision",
                    ),
                    (
                        "cooperation_status",
                        "cooperation_suspended_since",
                        "cooperation_suspended_since_precision",
                    ),
                    "cooperation_note",
                )
            },
        ),
        (_("Provenance"), {"fields": ("source",)}),
    )


class RouteFigureInline(PublishableInline):
    model = RouteFigure
    fields = ("label", "slug", "percent", "period", "period_precision", "source", "status")
    prepopulated_fields = {"slug": ("label",)}
    autocomplete_fields = ("source",)
    show_change_link = True
    extra = 0


@admin.register(Route)
class RouteAdmin(PublishableAdmin):
    list_display = ("name", "region_list", "source")
    list_select_related = ("source",)
    list_filter = (ManyToManyListFilter.of("regions"),)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("regions", "countries", "source")
    inlines = (RouteFigureInline,)
    fieldsets = (
        (None, {"fields": ("name", "slug", "description")}),
        (_("Where"), {"fields": ("regions", "countries")}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("regions"))
    def region_list(self, obj: Route) -> str:
        return names(obj.regions.all())


@admin.register(RouteFigure)
class RouteFigureAdmin(PublishableAdmin):
    list_display = ("label", "route", "percent", "period_display", "source")
    list_select_related = ("route", "source")
    list_filter = ("route", "period_precision")
    search_fields = ("label", "slug", "route__name")
    prepopulated_fields = {"slug": ("label",)}
    autocomplete_fields = ("route", "source")
    date_hierarchy = "period"
    fieldsets = (
        (None, {"fields": ("route", "label", "slug", "percent")}),
        (_("Period"), {"fields": (("period", "period_precision"),)}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    @admin.display(description=_("period"), ordering="period")
    def period_display(self, obj: RouteFigure):
        return obj.period_display


@admin.register(PopulationFigure)
class PopulationFigureAdmin(PublishableAdmin):
    list_display = ("group", "country", "quantity", "as_of_display", "source")
    list_select_related = ("country", "source")
    list_filter = ("qualifier", ("country", admin.RelatedOnlyFieldListFilter))
    search_fields = ("group", "slug", "country__name")
    prepopulated_fields = {"slug": ("group",)}
    autocomplete_fields = ("country", "origins", "source")
    fieldsets = (
        (None, {"fields": ("country", "group", "slug", "origins", "origins_non_exhaustive")}),
        (_("Figure"), {"fields": (("value", "qualifier", "wording"),)}),
        (_("Dates"), {"fields": (("since", "since_precision"), ("as_of", "as_of_precision"))}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    @admin.display(description=_("how many"), ordering="value")
    def quantity(self, obj: PopulationFigure):
        return obj.quantity

    @admin.display(description=_("as of"), ordering="as_of")
    def as_of_display(self, obj: PopulationFigure):
        return obj.partial_date("as_of")
