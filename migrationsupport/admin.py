"""Admin for officers: the shared base of every publishable record, sources, themes, page text."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import PageSection, Source, Theme

admin.site.site_header = _("Migration Support administration")
admin.site.site_title = _("Migration Support administration")
admin.site.index_title = _("Records")


def names(objects: Iterable[object]) -> str:
    """A comma-separated column for a to-many relation; give it a prefetched ``.all()``."""
    return ", ".join(str(obj) for obj in objects)


class TopLevelListFilter(admin.SimpleListFilter):
    """Top-level records versus parts of a larger one, for models with a ``parent``."""

    title = _("level")
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return (("top", _("Top level")), ("part", _("Part of a larger one")))

    def queryset(self, request, queryset):
        if self.value() == "top":
            return queryset.filter(parent__isnull=True)
        if self.value() == "part":
            return queryset.filter(parent__isnull=False)
        return queryset


class PublishableAdmin(SimpleHistoryAdmin):
    """Base of the admin of every ``PublishableModel``, drafts and published alike.

    It adds the status and last-change columns after the subclass's ``list_display``, puts the
    status filter first, and closes the subclass's ``fieldsets`` with a publishing fieldset, so
    the per-model admins only say what is particular to their model.
    """

    publishing_columns: tuple[str, ...] = ("status", "updated_at")
    publishing_fieldset = (
        _("Publishing"),
        {"fields": ("status", ("created_at", "updated_at"))},
    )
    readonly_fields = ("created_at", "updated_at")
    # Officers paste addresses without a scheme; the sources are all served over HTTPS.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    history_list_display = ["status"]
    list_per_page = 50
    save_on_top = True

    def get_list_display(self, request):
        return (*super().get_list_display(request), *self.publishing_columns)

    def get_list_filter(self, request):
        return ("status", *super().get_list_filter(request))

    def get_fieldsets(self, request, obj=None):
        if not self.fieldsets:
            return super().get_fieldsets(request, obj)
        return [*self.fieldsets, self.publishing_fieldset]


@admin.register(Source)
class SourceAdmin(PublishableAdmin):
    list_display = ("title", "publisher", "date_display", "url")
    list_filter = ("publisher", "date_precision")
    search_fields = ("title", "publisher", "url", "slug")
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "date"
    fieldsets = (
        (None, {"fields": ("title", "slug", "publisher", "url")}),
        (_("Date"), {"fields": (("date", "date_precision"),)}),
    )

    @admin.display(description=_("date"), ordering="date")
    def date_display(self, obj: Source):
        return obj.date_display


@admin.register(Theme)
class ThemeAdmin(PublishableAdmin):
    list_display = ("name", "order", "source")
    list_select_related = ("source",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("source",)
    fieldsets = ((None, {"fields": ("name", "slug", "description", "order", "source")}),)


@admin.register(PageSection)
class PageSectionAdmin(PublishableAdmin):
    list_display = ("__str__", "slug", "order", "source")
    list_select_related = ("source",)
    search_fields = ("slug", "title", "body")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("source",)
    fieldsets = ((None, {"fields": ("title", "slug", "body", "order", "source")}),)
