"""A page of a JSON list without running the serializer on each record: the same keys and the
same values as ``serializer.to_representation(record)``, at a fraction of the cost (a page of 50
funding records went from about 60 % of its build time in serializing to a few ms,
docs/performance.md).

``RecordPlan`` is ``CSVRowPlan`` (``csv_rows.py``) reading the JSON fields instead of the CSV
columns: related records by slug from columns annotated on the page's query, to-many relations
as one query per relation for the whole page (``RelatedValues``, instead of Django's prefetch
with a related manager and a queryset per record), addresses from one ``reverse()`` per page;
a source is its object (``SourceField.represent``) and an empty text is null, as
``ApiConventionsMixin`` makes it. A serializer with its own ``to_representation`` or a field
the plan does not know (a nested serializer: an agreement's events) gives no plan and the list
keeps the serializer. ``tests/api/test_records.py`` compares both for every endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import models
from rest_framework import serializers

from ..serializers import ApiConventionsMixin, SourceField
from .csv_rows import Addresses, CSVRowPlan, Reader, related_values


class RecordPlan(CSVRowPlan):
    """How to read the JSON object of a record of ``model``: one reader per readable field."""

    @classmethod
    def plan(cls, serializer: serializers.Serializer, *, show_drafts: bool) -> RecordPlan | None:
        if type(serializer).to_representation is not ApiConventionsMixin.to_representation:
            return None  # the serializer changes its objects itself
        plan = super().plan(serializer, show_drafts=show_drafts)
        assert plan is None or isinstance(plan, RecordPlan)
        return plan

    @staticmethod
    def columns(serializer: serializers.Serializer) -> Iterator[tuple[str, serializers.Field]]:
        """Every readable field, in the serializer's order (``_readable_fields``)."""
        for name, serializer_field in serializer.fields.items():
            if not serializer_field.write_only:
                yield name, serializer_field

    def _reader(self, name: str, f: serializers.Field, addresses: Addresses) -> Reader:
        if isinstance(f, SourceField):
            return self._source(f, name)
        return super()._reader(name, f, addresses)

    def _source(self, f: SourceField, name: str) -> Reader:
        attrs = f.csv_subfields
        self._to_one(f, name, attrs)  # annotates the source's columns
        prefix = f"csvrow_{name}_"
        show_drafts = self.show_drafts
        represent = f.represent

        def read(row, _many):
            values = related_values(row, prefix, attrs, show_drafts)
            return (None if values is None else represent(*values),)

        return read

    def records(self, records: Sequence[models.Model]) -> list[dict[str, Any]]:
        """The JSON objects of ``records`` (read from ``prepare()``'s query), in their order: one
        query per to-many relation for all of them."""
        ids = [record.pk for record in records]
        many = {name: related.of(ids) for name, related in self.to_many.items()} if ids else {}
        fields = list(zip(self.names, self.readers, strict=True))
        objects = []
        for record in records:
            data = {}
            for name, read in fields:
                (value,) = read(record, many)
                data[name] = None if value == "" else value  # ApiConventionsMixin's null
            objects.append(data)
        return objects
