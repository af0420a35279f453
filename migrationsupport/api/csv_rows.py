"""A list's CSV rows without running the serializer on each record: the same columns and the
same cells as ``csv_table(serializer.to_representation(record) ...)`` written by ``cell``, at a
small part of the cost, so a whole table (+100 000 funding records) streams in a few seconds.

``CSVRowPlan`` reads the serializer's fields once and turns each into a reader of a plain
``values_list`` row (no model instance), giving the finished cell (spreadsheet-safe, what
``spreadsheets.cell`` makes of the serializer's value):

- the record's own columns through the field's ``to_representation``, a text as it is, a cell
  written once for the values that recur (choices, numbers, decimals);
- a model property or a method field marked ``reads_columns`` (``migrationsupport.values``): its
  getter called with just the columns it names, and written once per distinct columns;
- related records by slug (``PublishedSlugRelatedField``, ``SourceField``) from columns
  annotated on the list query (slug, title..., null for a draft the answer may not show,
  ``published_value``; the JSON objects read the related record's status) instead of related
  instances; a to-many relation is one query per chunk of ``CSV_CHUNK`` records
  (``migrationsupport.chunks``) and its cell is written once per chunk;
- addresses (``ApiUrlField``, ``PublicUrlField``) come from one ``reverse()`` per download: the
  address of a placeholder identifier, into which each record's slug or id is put (only when
  it is made of the characters ``reverse()`` leaves as they are, else ``reverse()`` itself).

Any other property or method field reads the record: the rows are then model instances (the
same readers, over the instance's columns). A field it does not know (a nested serializer, a
hyperlinked relation) makes ``plan()`` return None and the list falls back to the serializer
for every record. ``tests/api/test_csv_rows.py`` compares both for every endpoint.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any

from django.db import models
from django.db.models import F
from rest_framework import ISO_8601, serializers
from rest_framework.relations import ManyRelatedField
from rest_framework.settings import api_settings

from ..addresses import absolute_address, absolute_template, address_template, filled
from ..chunks import RelatedValues, UnsupportedRelation, records_in_chunks
from ..models import Status, published_value
from ..serializers import (
    ApiUrlField,
    PartialDateField,
    PartialDatePartField,
    PublicUrlField,
    PublishedSlugRelatedField,
    SourceField,
)
from ..spreadsheets import FORMULA_STARTS, cell, list_cell
from ..values import DatePrecision, partial_date_text
from .csv import csv_aliases

#: (the record's columns, as ``CSVRowPlan.columns`` names them; to-many values of its chunk by
#: relation and owner id: the values, or for CSV their cell; the record itself where a reader
#: needs it, else None) → one value
Reader = Callable[[tuple, dict[str, dict[int, Any]], Any], object]


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


_MISSING = object()
#: Cells a reader keeps by what they are written from: choices, periods, amounts recur on
#: thousands of records; past this many kept, it starts again (a worker's memory stays flat).
_MEMO = 4096


def _remember(written: dict, key: object, value: object) -> None:
    if len(written) >= _MEMO:
        written.clear()
    written[key] = value


class _Unsupported(Exception):
    pass


def _same(value: object) -> object:
    return value


def _writes(f: serializers.Field) -> object:
    """What makes two fields write the same cell of a record: the same field (an alias), or
    texts of the same column or property (a deprecated name: ``str()`` of the same value);
    None for any other field."""
    if type(f).to_representation is serializers.CharField.to_representation and f.source != "*":
        return ("text", tuple(f.source_attrs))
    return ("field", id(f))


def _starts_plainly(template: str | None) -> bool:
    """Whether the addresses filled into ``template`` are cells as they are (``cell`` would
    leave them: they start as the template does, with no formula's first character)."""
    return template is not None and template[:1] not in _FORMULA_FIRST


def shown(status: str | None, show_drafts: bool) -> bool:
    """Whether a related record with this status (None: there is none) is in the answer: a
    draft reads as a relation not set yet (``visible_related``)."""
    return status is not None and (show_drafts or status == Status.PUBLISHED)


@dataclass
class CSVRowPlan:
    """How to read the CSV row of a record of ``model``: a reader per cell over the record's
    columns (``columns``, a ``values_list`` row), what to annotate on the list query and which
    to-many relations to load per chunk."""

    model: type[models.Model]
    show_drafts: bool
    #: the field each reader reads (a source's cells are read by one reader each)
    names: list[str] = field(default_factory=list)
    readers: list[Reader] = field(default_factory=list)
    #: what each row holds, in order: the record's id first (``records_in_chunks`` reads it)
    columns: list[str] = field(default_factory=lambda: ["pk"])
    annotations: dict[str, Any] = field(default_factory=dict)
    #: to-many relations, read per chunk
    to_many: dict[str, RelatedValues] = field(default_factory=dict)
    #: relations a reader of the record follows (kept joined in the list query)
    joined: bool = False
    #: a reader reads the record itself (a property, a method field): rows are model instances
    reads_record: bool = False
    #: per reader, the place of an earlier reader that writes the same (``_writes``), or None
    same_as: list[int | None] = field(default_factory=list)
    #: the readers give finished CSV cells (``spreadsheets.cell``); RecordPlan's, JSON values
    cells = True

    @classmethod
    def plan(cls, serializer: serializers.Serializer, *, show_drafts: bool) -> CSVRowPlan | None:
        """The plan for this serializer's CSV columns (``csv_columns``), or None when a field
        can only be read through the serializer."""
        meta: Any = getattr(serializer, "Meta", None)
        if meta is None:
            return None
        plan = cls(model=meta.model, show_drafts=show_drafts)
        addresses = Addresses(serializer.context.get("request"))
        written: dict[object, int] = {}  # what a field writes → its reader's place
        try:
            for name, serializer_field in cls.fields(serializer):
                readers = plan._readers(name, serializer_field, addresses)
                key = _writes(serializer_field) if len(readers) == 1 else None
                plan.same_as.append(written.get(key) if key is not None else None)
                plan.same_as += [None] * (len(readers) - 1)
                if key is not None:
                    written.setdefault(key, len(plan.readers))
                plan.names += [name] * len(readers)
                plan.readers += readers
        except _Unsupported:
            return None
        return plan

    @staticmethod
    def fields(serializer: serializers.Serializer) -> Iterator[tuple[str, serializers.Field]]:
        """The fields read, in the order of their cells: ``csv_columns``'s."""
        excluded = set(getattr(getattr(serializer, "Meta", None), "csv_exclude", ()))
        for name, serializer_field in serializer.fields.items():
            if not serializer_field.write_only and name not in excluded:
                yield name, serializer_field
        for name in csv_aliases(serializer).values():
            yield name, serializer.fields[name]

    def column(self, name: str) -> int:
        """Where ``name`` (a column of the record or an annotation) is in a row."""
        if name not in self.columns:
            self.columns.append(name)
        return self.columns.index(name)

    @property
    def _finish(self) -> Callable[[object], object]:
        """A value as the answer writes it: its CSV cell, or (JSON) itself."""
        return cell if self.cells else _same

    @property
    def _none(self) -> object:
        return "" if self.cells else None

    # Readers ------------------------------------------------------------------------------

    def _readers(self, name: str, f: serializers.Field, addresses: Addresses) -> list[Reader]:
        if isinstance(f, serializers.BaseSerializer | serializers.HyperlinkedRelatedField) and not isinstance(
            f, ApiUrlField
        ):
            raise _Unsupported(name)
        if isinstance(f, SourceField):
            return self._to_one(f, name, f.csv_subfields)
        return [self._reader(name, f, addresses)]

    def _reader(self, name: str, f: serializers.Field, addresses: Addresses) -> Reader:
        if isinstance(f, ApiUrlField):
            return self._api_url(f, addresses)
        if isinstance(f, PublicUrlField):
            return self._page_url(addresses)
        if type(f) is PartialDateField:
            return self._partial_date(f.column, "iso")
        if type(f) is PartialDatePartField and f.part in ("precision", "display"):
            return self._partial_date(f.date_field.column, f.part)
        if isinstance(f, serializers.SerializerMethodField):
            method = getattr(f.parent, f.method_name)
            if (columns := getattr(method, "reads_columns", None)) is not None:
                return self._computed(self._of_columns(method, columns), self._finish)
            return self._of_record(f)
        if isinstance(f, PartialDateField | PartialDatePartField):
            return self._of_record(f)
        if isinstance(f, ManyRelatedField):
            if not isinstance(f.child_relation, PublishedSlugRelatedField) or "." in (f.source or ""):
                raise _Unsupported(name)
            return self._to_many(f.source or name, f.child_relation.slug_field)
        if isinstance(f, PublishedSlugRelatedField):
            (read,) = self._to_one(f, name, (f.slug_field,))
            return read
        if isinstance(f, serializers.RelatedField):
            raise _Unsupported(name)
        if len(f.source_attrs) != 1:  # the whole record ("*") or a path through relations
            raise _Unsupported(name)
        attr = f.source_attrs[0]
        if attr in {column.attname for column in self.model._meta.concrete_fields}:
            return self._value(f, self.column(attr))
        getter = getattr(getattr(self.model, attr, None), "fget", None)  # a property's
        if getter is not None and (columns := getattr(getter, "reads_columns", None)) is not None:
            return self._value(f, self._of_columns(getter, columns))
        return self._of_record(f, attr)  # a method, or a property that may read anything

    def _value(self, f: serializers.Field, at: int | tuple[Callable, Callable]) -> Reader:
        """A column of the record (at its place in the row), or what a getter computes from some
        (``_of_columns``), as ``f`` writes it."""
        finish, none = self._finish, self._none
        if not isinstance(at, int):

            def write(value):
                return none if value is None else finish(f.to_representation(value))

            return self._computed(at, write)
        written: dict = {}  # cells by value, for the values met again and again (``_MEMO``)
        if type(f).to_representation is serializers.CharField.to_representation:  # str(): a text is itself
            first = _FORMULA_FIRST if self.cells else frozenset()  # a text that needs no cell()

            def read_text(row, _many, _record):
                value = row[at]
                if value.__class__ is str:
                    return value if value[:1] not in first else finish(value)
                return none if value is None else finish(f.to_representation(value))

            return read_text
        if type(f) is serializers.DateTimeField:
            return _datetime_reader(f, at, finish, none)

        # Values whose cell depends on nothing else: a choice, a whole number, a decimal written
        # to its places (equal decimals such as 1.0 and 1.00 are one key: the same cell).
        kept = {str, int, Decimal} if getattr(f, "decimal_places", None) is not None else {str, int}

        def read(row, _many, _record):
            value = row[at]
            if value.__class__ in kept:  # seen before?
                out = written.get(value, _MISSING)
                if out is _MISSING:
                    out = finish(f.to_representation(value))
                    _remember(written, value, out)
                return out
            return none if value is None else finish(f.to_representation(value))

        return read

    def _computed(
        self,
        of_columns: tuple[Callable, Callable],
        write: Callable[[Any], object],
    ) -> Reader:
        """What a getter marked ``reads_columns`` (``_of_columns``) gives, written by ``write``:
        once per distinct columns, kept (``_MEMO``); a getter that reads no column, once."""
        pick, compute = of_columns
        if not getattr(compute, "columns", True):
            constant = write(compute(()))
            return lambda _row, _many, _record: constant
        written: dict = {}

        def computed(row, _many, _record):
            key = pick(row)
            out = written.get(key, _MISSING)
            if out is _MISSING:
                out = write(compute(key))
                _remember(written, key, out)
            return out

        return computed

    def _of_columns(
        self, getter: Callable[[Any], object], columns: Sequence[str]
    ) -> tuple[Callable, Callable]:
        """A getter marked ``reads_columns``: (what it reads of a row, a tuple of those columns;
        the getter called with them as attributes, not with the record). What it gives for the
        same columns is the same: ``_value`` writes it once."""
        at = [self.column(name) for name in columns]
        holder = namedtuple("Columns", columns)  # type: ignore[misc]  # the names are the marker's
        if len(at) > 1:
            pick: Callable[[tuple], tuple] = itemgetter(*at)
        else:  # itemgetter of one gives the value, not a tuple
            pick = lambda row: tuple(row[i] for i in at)  # noqa: E731

        def compute(key: tuple) -> object:
            return getter(holder(*key))

        compute.columns = tuple(columns)  # type: ignore[attr-defined]
        return pick, compute

    def _of_record(self, f: serializers.Field, attr: str | None = None) -> Reader:
        """What ``f`` reads from the record itself: a property, a method, a method field."""
        self.reads_record = True
        finish, none = self._finish, self._none
        if attr is None:
            return lambda _row, _many, record: finish(f.to_representation(record))

        def read(_row, _many, record):
            value = getattr(record, attr)
            if callable(value):  # a method: DRF calls it
                value = f.get_attribute(record)
            return none if value is None else finish(f.to_representation(value))

        return read

    def _api_url(self, f: ApiUrlField, addresses: Addresses) -> Reader:
        view_name = f.view_name
        assert view_name is not None  # DRF requires it of an identity field
        at = self.column(f.lookup_field)
        template = addresses.absolute_template(f.template(view_name))
        finish, none = self._finish, self._none
        written = _same if _starts_plainly(template) else finish  # every address alike

        def read(row, _many, _record):
            value = row[at]
            if value in (None, ""):
                return none
            if (address := filled(template, str(value))) is not None:
                return written(address)
            return finish(addresses.absolute(f.path(view_name, value)))

        return read

    def _page_url(self, addresses: Addresses) -> Reader:
        model: Any = self.model
        template = None
        if any(f.name == "slug" for f in model._meta.concrete_fields):
            template = addresses.template(lambda value: model(slug=value).get_absolute_url())
        finish = self._finish
        if template is None:  # get_absolute_url may follow a relation (an event's agreement)
            self.joined = self.reads_record = True
            return lambda _row, _many, record: finish(addresses.absolute(record.get_absolute_url()))
        absolute = addresses.absolute_template(template)
        at = self.column("slug")
        written = _same if _starts_plainly(absolute) else finish  # every address alike

        def read(row, _many, _record):
            slug = row[at]
            if (address := filled(absolute, slug)) is not None:
                return written(address)
            return finish(addresses.absolute(filled(template, slug) or model(slug=slug).get_absolute_url()))

        return read

    def _partial_date(self, column: str, part: str) -> Reader:
        """``PartialDateField`` (``part`` "iso") and ``PartialDatePartField``: the same text, each
        date and precision written once per download (``partial_date_text``), not once per record."""
        at, precision_at = self.column(column), self.column(f"{column}_precision")
        index = _PARTS[part]
        finish, none = self._finish, self._none

        def read(row, _many, _record):
            value = row[at]
            if value is None:
                return none
            return finish(partial_date_text(value, row[precision_at] or DatePrecision.DAY)[index])

        return read

    def _to_one(self, f: serializers.Field, name: str, attrs: Iterable[str]) -> list[Reader]:
        """A related record's ``attrs``, one reader each, from columns annotated on the list
        query: a draft reads as a relation not set yet (``visible_related``). For JSON with its
        status (a source is null, not an object of nulls); for CSV, where both are empty cells,
        the public's values are null in the query for a draft (``published_value``)."""
        source = f.source or name
        if "." in source:
            raise _Unsupported(name)
        prefix = f"csvrow_{name}_"
        finish, none = self._finish, self._none
        readers: list[Reader] = []
        if self.cells:
            first = _FORMULA_FIRST  # a text that needs no cell()
            for attr in attrs:
                self.annotations[f"{prefix}{attr}"] = (
                    F(f"{source}__{attr}")
                    if self.show_drafts
                    else published_value(source, attr, default=None)
                )
                at = self.column(f"{prefix}{attr}")

                def read_cell(row, _many, _record, at=at):
                    value = row[at]  # None (an empty cell) without a record the answer shows
                    return value if value.__class__ is str and value[:1] not in first else finish(value)

                readers.append(read_cell)
            return readers
        self.annotations[f"{prefix}status"] = F(f"{source}__status")
        status_at = self.column(f"{prefix}status")
        show_drafts = self.show_drafts
        for attr in attrs:
            self.annotations[f"{prefix}{attr}"] = F(f"{source}__{attr}")
            at = self.column(f"{prefix}{attr}")

            def read(row, _many, _record, at=at):
                return row[at] if shown(row[status_at], show_drafts) else none

            readers.append(read)
        return readers

    def _relation(self, name: str, value_field: str) -> RelatedValues:
        """The values of the to-many relation ``name``, read per chunk."""
        return RelatedValues(self.model, name, value_field, drafts=self.show_drafts)

    def _to_many(self, name: str, value_field: str) -> Reader:
        try:
            self.to_many[name] = self._relation(name, value_field)
        except UnsupportedRelation as error:
            raise _Unsupported(name) from error
        if self.cells:  # the chunk's cells (``rows``)
            return lambda row, many, _record: many[name].get(row[0], "")
        return lambda row, many, _record: many[name].get(row[0], [])

    # Rows ---------------------------------------------------------------------------------

    def prepare(self, queryset: models.QuerySet) -> models.QuerySet:
        """The list query as the rows read it: the relations' columns annotated, nothing
        prefetched (to-many relations are read per chunk)."""
        queryset = queryset.prefetch_related(None)
        if not self.joined:
            queryset = queryset.select_related(None)
        return queryset.annotate(**self.annotations)

    def row_of(self) -> Callable[[models.Model], tuple]:
        """A record of ``prepare()``'s query as the row its readers read."""
        get = attrgetter(*self.columns)
        return get if len(self.columns) > 1 else lambda record: (get(record),)

    def rows(self, queryset: models.QuerySet) -> Iterator[list[object]]:
        """One list of finished cells per record, ``CSV_CHUNK`` records and one query per to-many
        relation at a time: plain ``values_list`` rows, model instances only when a reader
        reads the record itself; a to-many relation's cell is written once per chunk for the
        records that have any."""
        readers, copies = self.readers, list[int]()
        while readers and (same := self.same_as[len(readers) - 1]) is not None:
            copies.insert(0, same)  # the deprecated names and aliases, last: their cells copied
            readers = readers[:-1]
        prepared = self.prepare(queryset)
        records = prepared if self.reads_record else prepared.values_list(*self.columns)
        row_of = self.row_of() if self.reads_record else None
        for chunk, values in records_in_chunks(records, self.to_many):
            many = {
                name: {pk: list_cell(items) for pk, items in by_pk.items()} for name, by_pk in values.items()
            }
            for record in chunk:
                if row_of is None:
                    cells = [read(record, many, None) for read in readers]
                else:
                    row = row_of(record)
                    cells = [read(row, many, record) for read in readers]
                if copies:
                    cells += [cells[at] for at in copies]
                yield cells


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


_PARTS = {"iso": 0, "precision": 1, "display": 2}  # the fields of a PartialDateText


def _datetime_reader(
    f: serializers.DateTimeField, at: int, finish: Callable[[object], object], none: object
) -> Reader:
    """DRF's ISO 8601 with the time zone looked up once per download, not once per value (a
    digit first: no cell to escape)."""
    output = getattr(f, "format", api_settings.DATETIME_FORMAT)
    zone = f.timezone if hasattr(f, "timezone") else f.default_timezone()

    def read(row, _many, _record):
        value = row[at]
        if value is None:
            return none
        if zone is None or output is None or output.lower() != ISO_8601 or value.utcoffset() is None:
            return finish(f.to_representation(value))
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return read
