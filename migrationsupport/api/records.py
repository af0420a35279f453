"""A page of a JSON list without running the serializer on each record: the same keys and the
same values as ``serializer.to_representation(record)``, at a fraction of the cost (a page of 50
funding records went from about 60 % of its build time in serializing to a few ms,
docs/performance.md).

``RecordPlan`` is ``CSVRowPlan`` (``csv_rows.py``) reading the JSON fields instead of the CSV
columns, with the same readers giving JSON values instead of CSV cells: related records by slug
from columns annotated on the page's query, to-many relations as one query per relation for the
whole page (``RelatedValues``, instead of Django's prefetch with a related manager and a
queryset per record), addresses from one ``reverse()`` per page; a source is its object
(``SourceField.represent``) and an empty text is null, as ``ApiConventionsMixin`` makes it. A
nested list of records (an agreement's timeline) is one query for the whole page too, each
record read by the nested serializer's own plan (``NestedRecords``). A serializer with its own
``to_representation`` or a field the plan does not know gives no plan and the list keeps the
serializer. ``tests/api/test_records.py`` compares both for every endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import models
from django.urls import get_script_prefix
from rest_framework import serializers

from ..chunks import RelatedValues
from ..serializers import ApiConventionsMixin, SourceField
from .csv_rows import Addresses, CSVRowPlan, Reader, _Unsupported, shown

#: The prefix of a to-many relation's array column (``RecordPlan.with_relations``).
_ARRAY = "recordmany_"


@dataclass
class RecordPlan(CSVRowPlan):
    """How to read the JSON object of a record of ``model``: one reader per readable field."""

    #: nested lists of records (a reverse foreign key read by a nested serializer), per page
    nested: dict[str, NestedRecords] = field(default_factory=dict)
    cells = False

    @classmethod
    def plan(cls, serializer: serializers.Serializer, *, show_drafts: bool) -> RecordPlan | None:
        if type(serializer).to_representation is not ApiConventionsMixin.to_representation:
            return None  # the serializer changes its objects itself
        plan = super().plan(serializer, show_drafts=show_drafts)
        assert plan is None or isinstance(plan, RecordPlan)
        return plan

    @staticmethod
    def fields(serializer: serializers.Serializer) -> Iterator[tuple[str, serializers.Field]]:
        """Every readable field, in the serializer's order (``_readable_fields``)."""
        for name, serializer_field in serializer.fields.items():
            if not serializer_field.write_only:
                yield name, serializer_field

    def _readers(self, name: str, f: serializers.Field, addresses: Addresses) -> list[Reader]:
        if isinstance(f, SourceField):
            return [self._source(f, name)]
        if isinstance(f, serializers.ListSerializer):
            return [self._nested(f, name)]
        return super()._readers(name, f, addresses)

    def _relation(self, name: str, value_field: str) -> RelatedValues:
        """``CSVRowPlan``'s, with the relation's query built and compiled once per process, not
        once per answer (``_related_values``): for a page of 50 records that cost more than
        running the queries."""
        return _related_values(self.model, name, value_field, self.show_drafts)

    def _nested(self, f: serializers.ListSerializer, name: str) -> Reader:
        source = f.source or name
        if type(f).to_representation is not serializers.ListSerializer.to_representation or "." in source:
            raise _Unsupported(name)
        self.nested[name] = NestedRecords(self.model, source, f.child, show_drafts=self.show_drafts)
        return lambda row, many, _record: many[name].get(row[0], [])

    def _source(self, f: SourceField, name: str) -> Reader:
        attrs = f.csv_subfields
        self._to_one(f, name, attrs)  # annotates the source's columns
        prefix = f"csvrow_{name}_"
        status_at = self.column(f"{prefix}status")
        at = [self.column(f"{prefix}{attr}") for attr in attrs]
        show_drafts = self.show_drafts
        represent = f.represent

        def read(row, _many, _record):
            if not shown(row[status_at], show_drafts):
                return None
            return represent(*(row[i] for i in at))

        return read

    def with_relations(self, queryset: models.QuerySet) -> models.QuerySet:
        """``prepare()``'s query with each to-many relation's values as an array column of
        its own (``RelatedValues.array``), where the database can: for a few records of each
        of several types (the change feed), one query per type instead of one per relation."""
        arrays = {f"{_ARRAY}{name}": related.array(queryset.db) for name, related in self.to_many.items()}
        return self.prepare(queryset).annotate(**{key: array for key, array in arrays.items() if array})

    def records(self, records: Sequence[models.Model]) -> list[dict[str, Any]]:
        """The JSON objects of ``records`` (read from ``prepare()``'s query, or
        ``with_relations()``'s), in their order: one query per to-many relation not read with
        them, and per nested list, for all of them."""
        ids = [record.pk for record in records]
        many: dict[str, dict[int, list]] = {}
        if ids:
            for name, related in self.to_many.items():
                column = f"{_ARRAY}{name}"
                if column in vars(records[0]):
                    many[name] = {record.pk: getattr(record, column) for record in records}
                else:
                    many[name] = related.of(ids)
            many.update((name, nested.of(ids)) for name, nested in self.nested.items())
        fields = list(zip(self.names, self.readers, strict=True))
        row_of = self.row_of()
        objects = []
        for record in records:
            row = row_of(record)
            data = {}
            for name, read in fields:
                value = read(row, many, record)
                data[name] = None if value == "" else value  # ApiConventionsMixin's null
            objects.append(data)
        return objects


#: How many of the public's plans a process keeps (``public_plan``); past this, it starts again.
PUBLIC_PLANS_KEPT = 64
_public_plans: dict[tuple[type, str, str], RecordPlan | None] = {}


def public_plan(serializer: serializers.Serializer) -> RecordPlan | None:
    """``RecordPlan.plan(serializer, show_drafts=False)``, built once per process for each
    serializer class, scheme and host and script prefix, not once per answer (1.4-2.8 ms of an
    API answer of 8-18 ms, docs/performance.md).

    Those are all that a plan's answers take from their request: the fields of a serializer class
    are the same for every request, and what a reader writes of the request is an absolute
    address (``Addresses``, a method field's ``get_url``; ``reverse()`` reads the script prefix).
    A kept plan holds on to the request it was built for (its readers' serializer and context),
    so a process keeps at most ``PUBLIC_PLANS_KEPT`` such requests. The drafts an officer sees are
    planned per answer (``RecordPlan.plan``)."""
    request = serializer.context.get("request")
    host = request._current_scheme_host if request is not None else ""
    key = (type(serializer), host, get_script_prefix())
    try:
        return _public_plans[key]
    except KeyError:
        pass
    plan = RecordPlan.plan(serializer, show_drafts=False)
    if len(_public_plans) >= PUBLIC_PLANS_KEPT:
        _public_plans.clear()
    _public_plans[key] = plan
    return plan


@cache
def _related_values(model: type[models.Model], name: str, value_field: str, drafts: bool) -> RelatedValues:
    """One ``RelatedValues`` per relation, value and audience for the process: its query holds
    no per-request state (the database is routed each time it runs; the public's rule is
    ``published_q``, which does not depend on the time), and it keeps its compiled SQL."""
    return RelatedValues(model, name, value_field, drafts=drafts)


class NestedRecords:
    """The records a reverse foreign key ``name`` of ``model`` leads to, as the nested
    ``serializer`` writes them (its ``RecordPlan``), per owner id: one query for a page of
    owners, in the order Django's prefetch gives them (the related model's ordering), published
    ones only unless drafts are shown (the viewset's ``list_prefetch``)."""

    def __init__(self, model: type[models.Model], name: str, serializer: Any, *, show_drafts: bool) -> None:
        relation = model._meta.get_field(name)
        related = relation.related_model
        if not isinstance(relation, models.ManyToOneRel):
            raise _Unsupported(name)
        if not isinstance(serializer, serializers.Serializer):
            raise _Unsupported(name)
        plan = RecordPlan.plan(serializer, show_drafts=show_drafts)
        if plan is None or plan.model is not related:
            raise _Unsupported(name)
        assert isinstance(related, type) and issubclass(related, models.Model)
        queryset: Any = related._default_manager.all()
        if not show_drafts:
            queryset = queryset.published()
        self.plan = plan
        self.owner = relation.field.attname
        self.queryset = plan.prepare(queryset)

    def of(self, ids: Sequence[int]) -> dict[int, list]:
        """Owner id → the JSON objects of its records, in order (an owner without any is absent)."""
        records = list(self.queryset.filter(**{f"{self.owner}__in": ids}))
        objects: dict[int, list] = {}
        for record, data in zip(records, self.plan.records(records), strict=True):
            objects.setdefault(getattr(record, self.owner), []).append(data)
        return objects
