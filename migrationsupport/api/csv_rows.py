"""A list's CSV rows without running the serializer on each record: the same columns and the
same values as ``csv_table(serializer.to_representation(record) ...)``, at about a tenth of the
cost, so a whole table (+100 000 funding records) streams in seconds rather than a minute.

``CSVRowPlan`` reads the serializer's fields once and turns each into a cheap reader:

- related records by slug (``PublishedSlugRelatedField``, ``SourceField``) are read from
  columns annotated on the list query (slug, title..., and the related record's status) instead
  of related instances; a to-many relation is one query per chunk of ``CSV_CHUNK`` records
  (``migrationsupport.chunks``), not Django's prefetch with its related manager per record;
- addresses (``ApiUrlField``, ``PublicUrlField``) come from one ``reverse()`` per download: the
  address of a placeholder identifier, into which each record's slug or id is put (only when
  it is made of the characters ``reverse()`` leaves as they are, else ``reverse()`` itself);
- every other field is the serializer's own ``get_attribute`` and ``to_representation``.

A field it does not know (a nested serializer, a hyperlinked relation) makes ``plan()`` return
None and the list falls back to the serializer for every record. ``tests/api/test_csv_rows.py``
compares both for every endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import F
from rest_framework import ISO_8601, serializers
from rest_framework.relations import ManyRelatedField
from rest_framework.settings import api_settings

from ..addresses import absolute_address, absolute_template, address_template, filled
from ..chunks import RelatedValues, UnsupportedRelation, records_in_chunks
from ..models import Status
from ..serializers import (
    ApiUrlField,
    PartialDateField,
    PartialDatePartField,
    PublicUrlField,
    PublishedSlugRelatedField,
    SourceField,
)
from ..values import DatePrecision, partial_date_text
from .csv import csv_aliases

Reader = Callable[[Any, dict[str, dict[int, list]]], Iterable[object]]


class _Unsupported(Exception):
    pass


def related_values(row: Any, prefix: str, names: Iterable[str], show_drafts: bool) -> list[object] | None:
    """A related record's fields as annotated on the list query (``CSVRowPlan._to_one``), or
    None when there is none or the answer may not show it."""
    if getattr(row, f"{prefix}status") is None:  # no related record
        return None
    if not show_drafts and getattr(row, f"{prefix}status") != Status.PUBLISHED:
        return None  # a draft reads as a relation not set yet (``visible_related``)
    return [getattr(row, f"{prefix}{name}") for name in names]


class Addresses:
    """Absolute addresses for the request (or the paths as they are, without one)."""

    def __init__(self, request) -> None:
        self.request = request

    def absolute(self, path: str) -> str:
        return path if self.request is None else absolute_address(self.request, path)

    def absolute_template(self, template: str | None) -> str | None:
        """The absolute addresses' template (``filled`` gives ``absolute(filled(template, ...))``)."""
        return template if self.request is None else absolute_template(self.request, template)

    template = staticmethod(address_template)


@dataclass
class CSVRowPlan:
    """How to read the CSV row of a record of ``model``: the readers of its columns, what to
    annotate on the list query and which to-many relations to load per chunk."""

    model: type[models.Model]
    show_drafts: bool
    #: the field each reader reads
    names: list[str] = field(default_factory=list)
    readers: list[Reader] = field(default_factory=list)
    annotations: dict[str, Any] = field(default_factory=dict)
    #: to-many relations, read per chunk
    to_many: dict[str, RelatedValues] = field(default_factory=dict)
    #: relations a fallback reader follows on each record (kept joined in the list query)
    joined: bool = False

    @classmethod
    def plan(cls, serializer: serializers.Serializer, *, show_drafts: bool) -> CSVRowPlan | None:
        """The plan for this serializer's CSV columns (``csv_columns``), or None when a field
        can only be read through the serializer."""
        meta: Any = getattr(serializer, "Meta", None)
        if meta is None:
            return None
        plan = cls(model=meta.model, show_drafts=show_drafts)
        addresses = Addresses(serializer.context.get("request"))
        try:
            for name, serializer_field in cls.columns(serializer):
                plan.names.append(name)
                plan.readers.append(plan._reader(name, serializer_field, addresses))
        except _Unsupported:
            return None
        return plan

    @staticmethod
    def columns(serializer: serializers.Serializer) -> Iterator[tuple[str, serializers.Field]]:
        """The fields read, in the order of their cells: ``csv_columns``'s."""
        excluded = set(getattr(getattr(serializer, "Meta", None), "csv_exclude", ()))
        for name, serializer_field in serializer.fields.items():
            if not serializer_field.write_only and name not in excluded:
                yield name, serializer_field
        for name in csv_aliases(serializer).values():
            yield name, serializer.fields[name]

    # Readers ------------------------------------------------------------------------------

    def _reader(self, name: str, f: serializers.Field, addresses: Addresses) -> Reader:
        if isinstance(f, serializers.BaseSerializer | serializers.HyperlinkedRelatedField) and not isinstance(
            f, ApiUrlField
        ):
            raise _Unsupported(name)
        if isinstance(f, ApiUrlField):
            return self._api_url(f, addresses)
        if isinstance(f, PublicUrlField):
            return self._page_url(addresses)
        if type(f) is PartialDateField:
            return _partial_date_reader(f.column, "iso")
        if type(f) is PartialDatePartField and f.part in ("precision", "display"):
            return _partial_date_reader(f.date_field.column, f.part)
        if isinstance(f, PartialDateField | PartialDatePartField):
            return lambda row, _many: (f.to_representation(row),)
        if isinstance(f, SourceField):
            return self._to_one(f, name, f.csv_subfields)
        if isinstance(f, ManyRelatedField):
            if not isinstance(f.child_relation, PublishedSlugRelatedField) or "." in (f.source or ""):
                raise _Unsupported(name)
            return self._to_many(f.source or name, f.child_relation.slug_field)
        if isinstance(f, PublishedSlugRelatedField):
            return self._to_one(f, name, (f.slug_field,), single=True)
        if isinstance(f, serializers.RelatedField):
            raise _Unsupported(name)
        if isinstance(f, serializers.SerializerMethodField):
            return lambda row, _many: (f.to_representation(row),)
        if len(f.source_attrs) != 1:  # the whole record ("*") or a path through relations
            raise _Unsupported(name)
        attr = f.source_attrs[0]
        if type(f) in _TEXT_FIELDS:  # to_representation is str(): a text is itself

            def read_text(row, _many):
                value = getattr(row, attr)
                if value is None or value.__class__ is str:
                    return (value,)
                return (f.to_representation(value),)

            return read_text
        if type(f) is serializers.DateTimeField:
            return _datetime_reader(f, attr)

        def read(row, _many, f=f):
            value = getattr(row, attr)
            if callable(value):  # a method: DRF calls it
                value = f.get_attribute(row)
            return (None if value is None else f.to_representation(value),)

        return read

    def _api_url(self, f: ApiUrlField, addresses: Addresses) -> Reader:
        lookup, view_name = f.lookup_field, f.view_name
        assert view_name is not None  # DRF requires it of an identity field
        template = addresses.absolute_template(f.template(view_name))

        def read(row, _many):
            value = getattr(row, lookup)
            if value in (None, ""):
                return (None,)
            return (filled(template, str(value)) or addresses.absolute(f.path(view_name, value)),)

        return read

    def _page_url(self, addresses: Addresses) -> Reader:
        model: Any = self.model
        template = None
        if any(f.name == "slug" for f in model._meta.concrete_fields):
            template = addresses.template(lambda value: model(slug=value).get_absolute_url())
        if template is None:
            self.joined = True  # get_absolute_url may follow a relation (an event's agreement)

        absolute = addresses.absolute_template(template)

        def read(row, _many):
            slug = getattr(row, "slug", "")
            if (address := filled(absolute, slug)) is not None:
                return (address,)
            return (addresses.absolute(filled(template, slug) or row.get_absolute_url()),)

        return read

    def _to_one(self, f: serializers.Field, name: str, attrs: Iterable[str], single: bool = False) -> Reader:
        source = f.source or name
        if "." in source:
            raise _Unsupported(name)
        attrs = tuple(attrs)
        prefix = f"csvrow_{name}_"
        self.annotations[f"{prefix}status"] = F(f"{source}__status")
        for attr in attrs:
            self.annotations[f"{prefix}{attr}"] = F(f"{source}__{attr}")
        show_drafts = self.show_drafts
        empty = (None,) * (1 if single else len(attrs))

        def read(row, _many):
            values = related_values(row, prefix, attrs, show_drafts)
            return empty if values is None else values

        return read

    def _to_many(self, name: str, value_field: str) -> Reader:
        try:
            self.to_many[name] = RelatedValues(self.model, name, value_field, drafts=self.show_drafts)
        except UnsupportedRelation as error:
            raise _Unsupported(name) from error

        def read(row, many):
            return (many[name].get(row.pk, []),)

        return read

    # Rows ---------------------------------------------------------------------------------

    def prepare(self, queryset: models.QuerySet) -> models.QuerySet:
        """The list query as the rows read it: the relations' columns annotated, nothing
        prefetched (to-many relations are read per chunk)."""
        queryset = queryset.prefetch_related(None)
        if not self.joined:
            queryset = queryset.select_related(None)
        return queryset.annotate(**self.annotations)

    def rows(self, queryset: models.QuerySet) -> Iterator[list[object]]:
        """One list of cells per record, ``CSV_CHUNK`` records and one query per to-many
        relation at a time."""
        readers = self.readers
        for chunk, many in records_in_chunks(self.prepare(queryset), self.to_many):
            for record in chunk:
                yield [value for read in readers for value in read(record, many)]


_PARTS = {"iso": 0, "precision": 1, "display": 2}  # the fields of a PartialDateText


def _partial_date_reader(column: str, part: str) -> Reader:
    """``PartialDateField`` (``part`` "iso") and ``PartialDatePartField``: the same text, each
    date and precision written once per download (``partial_date_text``), not once per record."""
    precision_column = f"{column}_precision"
    index = _PARTS[part]

    def read(row, _many):
        value = getattr(row, column)
        if value is None:
            return (None,)
        return (partial_date_text(value, getattr(row, precision_column) or DatePrecision.DAY)[index],)

    return read


_TEXT_FIELDS = (serializers.CharField, serializers.URLField, serializers.SlugField, serializers.EmailField)


def _datetime_reader(f: serializers.DateTimeField, attr: str) -> Reader:
    """DRF's ISO 8601 with the time zone looked up once per download, not once per value."""
    output = getattr(f, "format", api_settings.DATETIME_FORMAT)
    zone = f.timezone if hasattr(f, "timezone") else f.default_timezone()

    def read(row, _many):
        value = getattr(row, attr)
        if value is None:
            return (None,)
        if zone is None or output is None or output.lower() != ISO_8601 or value.utcoffset() is None:
            return (f.to_representation(value),)
        text = value.astimezone(zone).isoformat()
        return (text[:-6] + "Z" if text.endswith("+00:00") else text,)

    return read
