"""Changelist filters the per-model admins share: top-level records versus their parts
(``TopLevelListFilter``) and one related record across a many-to-many relation without
``SELECT DISTINCT`` (``ManyToManyListFilter``).
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..filters import related_pks


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


class ManyToManyListFilter(admin.SimpleListFilter):
    """Filter by one related record across a many-to-many relation, without DISTINCT.

    Django's own filter on a many-to-many field joins the relation and makes the changelist
    ``SELECT DISTINCT`` over every column to drop the repeats, which sorts the whole table three
    times per page (page, count, date range; timed in docs/performance.md). This one is a
    semi-join on the through table (``migrationsupport.filters.related_pks``), with the same
    address (``?regions__id__exact=6``). Use ``ManyToManyListFilter.of("regions")``.
    """

    field_name = ""
    #: The address's parameter (``regions__id__exact``), also for ``PublishableAdmin.lookup_allowed``.
    parameter_name = ""

    @classmethod
    def of(cls, field_name: str) -> type[ManyToManyListFilter]:
        return type(
            f"{field_name.title()}ListFilter",
            (cls,),
            {"field_name": field_name, "parameter_name": f"{field_name}__id__exact"},
        )

    def __init__(self, request, params, model, model_admin):
        self.field = model._meta.get_field(self.field_name)
        self.title = self.field.verbose_name
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [(str(obj.pk), str(obj)) for obj in self.field.related_model._default_manager.all()]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        # A value that is no primary key at all (``abc``, out of range) is the admin's "?e=1"
        # redirect, as for its own filters; the database would refuse it with a 500.
        pk_field = self.field.related_model._meta.pk
        try:
            pk = pk_field.to_python(self.value())
            pk_field.run_validators(pk)
        except ValidationError as exc:
            raise admin.options.IncorrectLookupParameters(exc) from exc
        matching = related_pks(queryset.model, self.field_name, lambda path: models.Q(**{path: pk}))
        return queryset.filter(pk__in=matching)
