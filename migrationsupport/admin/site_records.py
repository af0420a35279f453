"""The admin of the site-wide records: sources, themes (key areas) and the page sections that hold
the site's own text. Importing this module registers them.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import PageSection, Source, Theme
from .publishing import PublishableAdmin


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
