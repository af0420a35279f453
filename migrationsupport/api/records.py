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
serializer with its own ``to_representation`` or a field the plan does not know (a nested
serializer: an agreement's events) gives no plan and the list keeps the serializer.
``tests/api/test_records.py`` compares both for every endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import models
from rest_framework import serializers

from ..serializers import ApiConventionsMixin, SourceField
from .csv_rows import Addresses, CSVRowPlan, Reader, shown


class RecordPlan(CSVRowPlan):
    """How to read the JSON object of a record of ``model``: one reader per readable field."""

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
        return super()._readers(name, f, addresses)

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

    def records(self, records: Sequence[models.Model]) -> list[dict[str, Any]]:
        """The JSON objects of ``records`` (read from ``prepare()``'s query), in their order: one
        query per to-many relation for all of them."""
        ids = [record.pk for record in records]
        many = {name: related.of(ids) for name, related in self.to_many.items()} if ids else {}
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
