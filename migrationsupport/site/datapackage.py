"""The whole published dataset as a Frictionless data package: one CSV per record type, one per
many-to-many relation, and ``datapackage.json`` with a Table Schema for each (types, primary and
foreign keys, enum constraints from the models' choices: measures, qualifiers, precisions...),
the licence and the sources.

The schemas are read from the models, so a new field or choice is in the package without a
second list to keep: each concrete field becomes a column (a relation: the related record's
stable identifier, a foreign key), each many-to-many relation a table of pairs. What the public
may see is the one rule of ``published_q``: published rows only, and a relation to a draft is an
empty cell, as in the other CSVs. Partial dates are written as the API writes them ("2024",
"2023-06", "2023-10-18"), with their precision in the next column.

The zip is written while it is sent (``zipfile`` on an unseekable stream): each table
``CSV_CHUNK`` rows at a time, so a worker's memory does not grow with the data, and the number
of queries depends on the number of tables and chunks, not on the rows.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

from django.db import models
from django.db.models import Case, F, Value, When
from django.http import StreamingHttpResponse

from agreements.models import Agreement, AgreementEvent, Document
from funding.codes import CURRENCY
from funding.models import Fulfilment, FundingRecord, Instrument, PledgingConference
from migrationsupport.chunks import records_in_chunks
from migrationsupport.models import PublishableQuerySet, Source, Theme, published_q
from migrationsupport.richtext import RichTextField
from migrationsupport.spreadsheets import csv_lines
from migrationsupport.values import DatePrecision
from regions.codes import country_codes
from regions.models import Country, PopulationFigure, Region, Route, RouteFigure

#: The record types in the package.
MODELS: tuple[type[models.Model], ...] = (
    Source,
    Theme,
    Region,
    Country,
    Route,
    RouteFigure,
    PopulationFigure,
    Instrument,
    PledgingConference,
    FundingRecord,
    Fulfilment,
    Agreement,
    AgreementEvent,
    Document,
)
#: Bookkeeping columns the public has no use for (``status`` is always "published" here), and the
#: site search's stored documents (``fulltext.SearchDocumentField``), derived from the text.
LEFT_OUT = {"status", "publish_at", "version", "search_document"}
PARTIAL_DATE_PATTERN = r"^\d{4}(-\d{2}(-\d{2})?)?$"

Row = dict[str, Any]


def resource_name(model: type[models.Model]) -> str:
    """``funding-records``, ``countries``: the model's plural name, kebab-case."""
    return str(model._meta.verbose_name_plural).replace(" ", "-").lower()


def column_name(model: type[models.Model]) -> str:
    """``funding_record``: a column that holds one record of ``model``."""
    return str(model._meta.verbose_name).replace(" ", "_").lower()


def key_of(model: type[models.Model]) -> str:
    """The record's stable identifier: its ISO code, its slug, or (timeline events) its id."""
    names = {f.name for f in model._meta.concrete_fields}
    return next((name for name in ("iso_code", "slug") if name in names), "id")


@dataclass
class Column:
    """A column: its Table Schema field descriptor, the values it reads (``needs``, aliases for
    ``QuerySet.values()``) and how its cell is made from them (``read``)."""

    descriptor: dict[str, Any]
    needs: dict[str, Any]
    read: Callable[[Row], object]

    @property
    def name(self) -> str:
        return self.descriptor["name"]


@dataclass
class Table:
    name: str
    queryset: models.QuerySet
    columns: list[Column]
    primary_key: list[str]
    foreign_keys: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""

    @property
    def path(self) -> str:
        return f"data/{self.name}.csv"

    def resource(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [c.descriptor for c in self.columns],
            "primaryKey": self.primary_key,
            "missingValues": [""],
        }
        if self.foreign_keys:
            schema["foreignKeys"] = self.foreign_keys
        resource: dict[str, Any] = {
            "name": self.name,
            "path": self.path,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
            "schema": schema,
        }
        if self.description:
            resource["description"] = self.description
        return resource

    def rows(self) -> Iterator[list[object]]:
        """The header, then every row, ``CSV_CHUNK`` records (one query) at a time."""
        yield [c.name for c in self.columns]
        needs: dict[str, Any] = {}
        for column in self.columns:
            needs.update(column.needs)
        for chunk, _related in records_in_chunks(self.queryset.values("pk", **needs), {}):
            for row in chunk:
                yield [column.read(row) for column in self.columns]


def _alias(name: str) -> str:
    return f"dp_{name}"


def _descriptor(f: models.Field, name: str) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"name": name}
    title = str(f.verbose_name)
    if title and title != name.replace("_", " "):
        descriptor["title"] = title[:1].upper() + title[1:]
    if f.help_text:
        descriptor["description"] = str(f.help_text)
    if isinstance(f, models.BooleanField):
        descriptor.update(type="boolean", trueValues=["true"], falseValues=["false"])
    elif isinstance(f, models.DecimalField):
        descriptor["type"] = "number"
    elif isinstance(f, models.IntegerField | models.AutoField):
        descriptor["type"] = "integer"
    elif isinstance(f, models.DateTimeField):
        descriptor["type"] = "datetime"
    elif isinstance(f, models.URLField):
        descriptor.update(type="string", format="uri")
    else:
        descriptor["type"] = "string"
    if isinstance(f, RichTextField):
        descriptor["description"] = f"{descriptor.get('description', '')} Sanitised HTML.".strip()
    constraints: dict[str, Any] = {}
    if f.choices:
        constraints["enum"] = [str(value) for value, _label in f.flatchoices if value != ""]
    if not (f.blank or f.null):
        constraints["required"] = True
    if constraints:
        descriptor["constraints"] = constraints
    return descriptor


def _plain(f: models.Field) -> Column:
    alias = _alias(f.name)
    if isinstance(f, models.DateTimeField):

        def read(row: Row) -> object:
            return row[alias].isoformat(timespec="seconds") if row[alias] else None

        return Column(_descriptor(f, f.name), {alias: F(f.name)}, read)
    return Column(_descriptor(f, f.name), {alias: F(f.name)}, itemgetter(alias))


def _partial_date(f: models.Field) -> Column:
    alias, precision = _alias(f.name), _alias(f"{f.name}_precision")
    descriptor = _descriptor(f, f.name)
    descriptor["type"] = "string"
    descriptor["description"] = (
        f"ISO 8601 truncated to what the source states (2024, 2023-06, 2023-10-18): see {f.name}_precision."
    )
    descriptor.setdefault("constraints", {})["pattern"] = PARTIAL_DATE_PATTERN

    def read(row: Row) -> str | None:
        value = row[alias]
        if value is None:
            return None
        if row[precision] == DatePrecision.YEAR:
            return f"{value.year:04d}"
        if row[precision] == DatePrecision.MONTH:
            return f"{value.year:04d}-{value.month:02d}"
        return value.isoformat()

    return Column(descriptor, {alias: F(f.name), precision: F(f"{f.name}_precision")}, read)


def _relation(f: models.ForeignKey, related: type[models.Model]) -> Column:
    """The related record's identifier, or an empty cell when it is a draft (``for_public()``)."""
    alias, key = _alias(f.name), key_of(related)
    descriptor = _descriptor(f, f.name)
    descriptor["type"] = "integer" if key == "id" else "string"
    descriptor.setdefault("description", f"The {related._meta.verbose_name}'s {key}.")
    key_field = related._meta.get_field(key)
    assert isinstance(key_field, models.Field)
    value = Case(
        When(published_q(f.name), then=F(f"{f.name}__{key}")), default=Value(None), output_field=key_field
    )
    return Column(descriptor, {alias: value}, itemgetter(alias))


def _computed(
    name: str,
    description: str,
    read: Callable[[Row], object],
    needs: dict[str, Any] | None = None,
    **extra: Any,
) -> Column:
    return Column({"name": name, "type": "string", "description": description, **extra}, needs or {}, read)


_ISO_CODE = {_alias("iso_code"): F("iso_code")}


def _country_code(part: str, sub: str | None = None) -> Callable[[Row], object]:
    def read(row: Row) -> object:
        value = getattr(country_codes(row[_alias("iso_code")]), part)
        return getattr(value, sub) if sub and value is not None else value

    return read


#: Codes computed from the libraries (regions.codes, funding.codes), not stored: docs/open-data.md.
EXTRA_COLUMNS: dict[type[models.Model], list[Column]] = {
    Country: [
        _computed("iso_alpha3", "ISO 3166-1 alpha-3 (pycountry).", _country_code("alpha_3"), _ISO_CODE),
        _computed("iso_numeric", "ISO 3166-1 numeric (pycountry).", _country_code("numeric"), _ISO_CODE),
        _computed("m49_region", "UN M49 region code.", _country_code("m49_region", "code"), _ISO_CODE),
        _computed(
            "m49_subregion", "UN M49 sub-region code.", _country_code("m49_subregion", "code"), _ISO_CODE
        ),
    ],
    FundingRecord: [
        _computed(
            "currency",
            "ISO 4217 code of the amount.",
            lambda row: CURRENCY.alpha_3,
            constraints={"enum": [CURRENCY.alpha_3]},
        )
    ],
}


def record_table(model: type[models.Model]) -> Table:
    key = key_of(model)
    columns: list[Column] = []
    foreign_keys: list[dict[str, Any]] = []
    partial = set(getattr(model, "PARTIAL_DATES", ()))
    precisions = {f"{name}_precision" for name in partial}
    for f in model._meta.concrete_fields:
        if f.name in LEFT_OUT or (f.primary_key and key != "id"):
            continue
        if isinstance(f, models.ForeignKey):
            related = f.related_model
            assert isinstance(related, type) and issubclass(related, models.Model)
            columns.append(_relation(f, related))
            reference = {
                "resource": "" if related is model else resource_name(related),
                "fields": key_of(related),
            }
            foreign_keys.append({"fields": f.name, "reference": reference})
        elif f.name in partial:
            columns.append(_partial_date(f))
        elif f.primary_key:
            column = _plain(f)
            column.descriptor["constraints"] = {"required": True}
            columns.append(column)
        else:
            columns.append(_plain(f))
            if f.name in precisions:
                columns[-1].descriptor["description"] = "year, month or day: how much of the date is known."
    columns.extend(EXTRA_COLUMNS.get(model, ()))
    first_line = (model.__doc__ or "").strip().splitlines()
    return Table(
        name=resource_name(model),
        queryset=_public(model).order_by(key),
        columns=columns,
        primary_key=[key],
        foreign_keys=foreign_keys,
        description=first_line[0] if first_line else "",
    )


def _public(model: type[models.Model]) -> models.QuerySet:
    """The published records of ``model``; a part (an agreement's event, a route's figure) only
    with its published owner, as on the pages and in the API."""
    # published(): the model's own rule (a link: with both its records published).
    queryset = cast(PublishableQuerySet, model._default_manager.all()).published()
    owner = getattr(model, "PAGE_OWNER", None)
    return queryset.filter(published_q(owner)) if owner else queryset


def _foreign_key(column: str, resource: str, key: str) -> dict[str, Any]:
    return {"fields": column, "reference": {"resource": resource, "fields": key}}


def link_tables(model: type[models.Model]) -> Iterator[Table]:
    """One table of (record, related record) pairs per many-to-many relation, both published."""
    for f in model._meta.local_many_to_many:
        related = f.related_model
        assert isinstance(related, type) and issubclass(related, models.Model)
        if related not in MODELS:
            continue
        through = f.remote_field.through
        assert isinstance(through, type) and issubclass(through, models.Model)
        owner, target = f.m2m_field_name(), f.m2m_reverse_field_name()
        owner_column, target_column = column_name(model), f.name
        owner_key, target_key = key_of(model), key_of(related)
        columns = [
            Column(
                {"name": owner_column, "type": "string", "constraints": {"required": True}},
                {"dp_owner": F(f"{owner}__{owner_key}")},
                itemgetter("dp_owner"),
            ),
            Column(
                {
                    "name": target_column,
                    "type": "integer" if target_key == "id" else "string",
                    "constraints": {"required": True},
                    "description": f"The {related._meta.verbose_name}'s {target_key}.",
                },
                {"dp_target": F(f"{target}__{target_key}")},
                itemgetter("dp_target"),
            ),
        ]
        queryset = through._default_manager.filter(published_q(owner), published_q(target)).order_by(
            f"{owner}__{owner_key}", f"{target}__{target_key}"
        )
        yield Table(
            name=f"{resource_name(model)}-{f.name.replace('_', '-')}",
            queryset=queryset,
            columns=columns,
            primary_key=[owner_column, target_column],
            foreign_keys=[
                {
                    "fields": owner_column,
                    "reference": {"resource": resource_name(model), "fields": owner_key},
                },
                {
                    "fields": target_column,
                    "reference": {"resource": resource_name(related), "fields": target_key},
                },
            ],
            description=f"{str(f.verbose_name).capitalize()} of each {model._meta.verbose_name}.",
        )


def data_tables() -> list[Table]:
    tables = [record_table(model) for model in MODELS]
    for model in MODELS:
        tables.extend(link_tables(model))
    return tables


def datapackage_descriptor(tables: list[Table], *, metadata: dict[str, Any]) -> dict[str, Any]:
    """``datapackage.json``: the package's metadata (``catalogue.package_metadata``) and a
    Table Schema per file."""
    return {**metadata, "profile": "tabular-data-package", "resources": [t.resource() for t in tables]}


class _Stream:
    """An unseekable file for ``zipfile``: what is written is collected until taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def datapackage_zip(*, metadata: dict[str, Any]) -> Iterator[bytes]:
    """The zip, as it is written: ``datapackage.json`` first, then each table's CSV."""
    tables = data_tables()
    stream = _Stream()
    with zipfile.ZipFile(stream, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[call-overload]
        descriptor = datapackage_descriptor(tables, metadata=metadata)
        archive.writestr("datapackage.json", json.dumps(descriptor, indent=2, ensure_ascii=False))
        yield stream.take()
        for table in tables:
            with archive.open(table.path, mode="w") as member:
                for line in csv_lines(table.rows()):
                    member.write(line.encode("utf-8"))
                    if stream.written and stream.parts:
                        yield stream.take()
            yield stream.take()
    yield stream.take()


def datapackage_download(*, metadata: dict[str, Any], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(datapackage_zip(metadata=metadata), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
