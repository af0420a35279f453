"""``PublishableImportExportMixin``: CSV and XLSX import and export (django-import-export) for a
``PublishableAdmin``; exports follow the changelist's filters, imports are all or nothing. A CSV
export is written while it is sent (``CSV_CHUNK`` records at a time); an XLSX file is built in
memory (openpyxl), which is why it holds at most ``XLSX_MAX_ROWS`` records.
"""

from __future__ import annotations

import contextlib
import datetime
import numbers
from collections.abc import Callable, Iterator
from itertools import chain

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import F, QuerySet
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.utils.encoding import force_str
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.signals import post_export

from ..chunks import RelatedValues, UnsupportedRelation, records_in_chunks
from ..resources import PublishableResource, SlugManyToManyWidget
from ..spreadsheets import safe_cell, written_lines

#: Records of one XLSX export (built whole in memory): past it, the officer narrows the filters
#: or exports CSV, which streams.
XLSX_MAX_ROWS = 20_000


def _joined(field, values) -> str:
    """What ``ManyToManyWidget.render`` writes for these related values, spreadsheet-safe."""
    return safe_cell(field.widget.separator.join(str(value) for value in values))


def _cell_reader(resource, field, kwargs) -> Callable[[object], object]:
    """``resource.export_field(field, record, **kwargs)`` as a function of the record, with what
    it looks up per call (the field's name, its ``dehydrate_`` method) looked up once: per
    cell, those lookups cost more than the cell (a 100 000-record export makes millions)."""
    if type(resource).export_field is not PublishableResource.export_field:
        return lambda record: resource.export_field(field, record, **kwargs)
    dehydrate = field.get_dehydrate_method(resource.get_field_name(field))
    method = dehydrate if callable(dehydrate) else getattr(resource, dehydrate, None)
    if method is not None:
        return lambda record: safe_cell(method(record))
    export = field.export
    return lambda record: safe_cell(export(record, **kwargs))


def _to_one_columns(resource, queryset, export_fields) -> tuple[QuerySet, dict[str, str]]:
    """A related record written by one of its fields (a ``ForeignKeyWidget``: its slug) as a
    column of the export query, ``{attribute: column}``, rather than a joined instance: no
    related instance per row (with its dates to parse), and the join kept only for what else
    reads the relation. ``ForeignKeyWidget.render`` writes the same: "" without a related record,
    else the field's value. A resource with ``dehydrate_`` methods, which may read anything,
    keeps its joins."""
    columns: dict[str, str] = {}
    for field in export_fields:
        widget, attribute = field.widget, field.attribute or ""
        dehydrate = field.get_dehydrate_method(resource.get_field_name(field))
        if (
            isinstance(widget, widgets.ForeignKeyWidget)
            and type(widget).render is widgets.ForeignKeyWidget.render
            and not (widget.key_is_id or widget.use_natural_foreign_keys)
            and "__" not in widget.field
            and attribute
            and "__" not in attribute
            and not callable(dehydrate)
            and not hasattr(resource, dehydrate)
        ):
            columns[attribute] = f"export_{attribute}_{widget.field}"
    if not columns:
        return queryset, columns
    queryset = queryset.annotate(
        **{
            column: F(f"{attribute}__{field.widget.field}")
            for field in export_fields
            for attribute, column in columns.items()
            if field.attribute == attribute
        }
    )
    joined = queryset.query.select_related
    if isinstance(joined, dict) and not any(name.startswith("dehydrate_") for name in dir(resource)):
        still_read = {
            (field.attribute or "").split("__")[0]
            for field in export_fields
            if field.attribute not in columns and "__" in (field.attribute or "")
        }
        paths = [
            path
            for path in _paths(joined)
            if path.split("__")[0] not in columns or path.split("__")[0] in still_read
        ]
        queryset = queryset.select_related(None)
        if paths:
            queryset = queryset.select_related(*paths)
    return queryset, columns


def _paths(joined: dict, prefix: str = "") -> list[str]:
    """``select_related``'s nested dict as the paths it was given ("parent__source")."""
    paths = []
    for name, below in joined.items():
        paths += _paths(below, f"{prefix}{name}__") if below else [f"{prefix}{name}"]
    return paths


def _related_cell(value) -> object:
    """What ``ForeignKeyWidget.render`` writes for the related record's value, spreadsheet-safe."""
    return "" if value is None else safe_cell(value)


def _column_reader(column: str) -> Callable[[object], object]:
    return lambda record: _related_cell(getattr(record, column))


def _text_cell(value) -> object:
    """``Widget.render`` and ``CharWidget.render``, then ``safe_cell``."""
    if value is None:
        return ""
    return safe_cell(value if value.__class__ is str else force_str(value))


def _number_cell(value) -> object:
    """``NumberWidget.render`` (decimals, integers, floats), then ``safe_cell``."""
    if value is None or not isinstance(value, numbers.Number):
        return ""
    return safe_cell(number_format(value))  # type: ignore[arg-type]  # as NumberWidget.render


def _date_cell(widget: widgets.DateWidget) -> Callable[[object], object]:
    """``DateWidget.render``, then ``safe_cell``: each date written once per download."""
    written: dict[object, object] = {}

    def convert(value):
        if not value or not isinstance(value, datetime.date):
            return ""
        if value not in written:
            written[value] = safe_cell(widget.render(value))
        return written[value]

    return convert


def _value_cell(resource, field, model) -> Callable[[object], object] | None:
    """What ``resource.export_field(field, record)`` writes, as a function of the value of the
    record's column ``field.attribute`` alone: for a plain field of the model whose widget's
    ``render`` reads nothing but the value (text, numbers, dates). None for anything else
    (a ``dehydrate_`` method, another widget or field class, a relation)."""
    if type(resource).export_field is not PublishableResource.export_field or type(field) is not fields.Field:
        return None
    dehydrate = field.get_dehydrate_method(resource.get_field_name(field))
    if callable(dehydrate) or hasattr(resource, dehydrate):
        return None
    try:
        column = model._meta.get_field(field.attribute or "")
    except FieldDoesNotExist:
        return None
    widget = field.widget
    if not column.concrete or column.is_relation or widget.coerce_to_string is not True:
        return None
    render = type(widget).render
    if render is widgets.Widget.render or render is widgets.CharWidget.render:
        return _text_cell
    if render is widgets.NumberWidget.render:
        return _number_cell
    if render is widgets.DateWidget.render:
        assert isinstance(widget, widgets.DateWidget)  # its render: a subclass of it
        return _date_cell(widget)
    return None


def _plain_rows(resource, queryset, export_fields, many, to_one) -> Iterator[list] | None:
    """The rows from plain values (``values_list()``, no model instance, no ``export_field``
    per cell) when every column is a plain value (``_value_cell``), a related record's
    annotated identifier (``to_one``) or a to-many list (``many``); else None. Each cell is
    what ``export_field`` writes (``tests/admin/test_streamed_export.py``)."""
    columns: list[str] = []
    converters: list[Callable[[object], object]] = []
    lists: list[tuple[int, fields.Field, str]] = []  # (position, field, relation): to-many columns
    for position, field in enumerate(export_fields):
        if field.attribute in many:
            lists.append((position, field, field.attribute))
        elif field.attribute in to_one:
            columns.append(to_one[field.attribute])
            converters.append(_related_cell)
        elif (convert := _value_cell(resource, field, queryset.model)) is not None:
            columns.append(field.attribute)
            converters.append(convert)
        else:
            return None

    def rows() -> Iterator[list]:
        for chunk, values in records_in_chunks(queryset.values_list("pk", *columns), many):
            for record in chunk:
                cells = [convert(value) for convert, value in zip(converters, record[1:], strict=True)]
                for position, field, relation in lists:  # in increasing position: each in its column
                    cells.insert(position, _joined(field, values[relation].get(record[0], ())))
                yield cells

    return rows()


class PublishableImportExportMixin(ImportExportMixin):
    """CSV and XLSX import/export for a ``PublishableAdmin`` (put this mixin first).

    Export follows the changelist's current filters and search. Import previews every row (new,
    update, skipped, rejected with the reason) and applies the file in one transaction: a single
    rejected row rolls the whole file back. What each row may do depends on the importer (see
    ``migrationsupport.resources.PublishableResource``).
    """

    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]
    import_error_display = ("message", "row")
    export_select_related: tuple[str, ...] = ()
    export_prefetch_related: tuple[str, ...] = ()

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_queryset(self, request):
        return (
            super()
            .get_export_queryset(request)
            .select_related(*self.export_select_related)
            .prefetch_related(*self.export_prefetch_related)
        )

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        """CSV: streamed, the resource's header and rows (``export_resource``, so its columns,
        ``;`` lists and formula escaping) written ``CSV_CHUNK`` records at a time, each chunk
        with its prefetch queries. XLSX: built in memory by django-import-export, up to
        ``XLSX_MAX_ROWS`` records."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        if not isinstance(file_format, CSV):
            if queryset.order_by().values("pk")[XLSX_MAX_ROWS:].exists():
                raise ValueError(
                    _("An XLSX export holds at most %(rows)s records: narrow the filters or export CSV.")
                    % {"rows": f"{XLSX_MAX_ROWS:,}".replace(",", " ")}
                )
            return super()._do_file_export(file_format, request, queryset, export_form=export_form)
        kwargs = {"encoding": self.to_encoding, "export_form": export_form}
        resource_class = self.choose_export_resource_class(export_form, request)
        resource = resource_class(**self.get_export_resource_kwargs(request, **kwargs))
        fields = self.get_export_resource_fields_from_form(export_form)
        queryset = resource.filter_export(queryset, **kwargs)
        resource.before_export(queryset, **kwargs)
        response = StreamingHttpResponse(
            self._csv_export_lines(resource, queryset, fields, kwargs),
            content_type=file_format.get_content_type() + "; charset=utf-8",
        )
        filename = self.get_export_filename(request, queryset, file_format)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        post_export.send(sender=None, model=self.model)
        return response

    @staticmethod
    def _csv_export_lines(resource, queryset, fields, kwargs) -> Iterator[str]:
        """The header and the rows in the dialect django-import-export writes (tablib's
        ``csv.writer`` defaults). A to-many column (``SlugManyToManyWidget``) is read per chunk
        of records (``migrationsupport.chunks``, drafts included as in the admin) rather than by
        Django's prefetch, which builds a related manager per record; every other cell is the
        resource's own ``export_field``."""
        export_fields = resource.get_export_fields(fields)
        many = {}
        for field in export_fields:
            dehydrate = field.get_dehydrate_method(resource.get_field_name(field))
            if isinstance(field.widget, SlugManyToManyWidget) and not hasattr(resource, dehydrate):
                with contextlib.suppress(UnsupportedRelation):
                    many[field.attribute] = RelatedValues(
                        queryset.model, field.attribute, field.widget.field, drafts=True
                    )
        kept = [name for name in queryset._prefetch_related_lookups if name not in many]
        queryset = queryset.prefetch_related(None).prefetch_related(*kept)
        queryset, to_one = _to_one_columns(resource, queryset, export_fields)
        header = resource.get_export_headers(selected_fields=fields)
        if not kept:
            plain = _plain_rows(resource, queryset, export_fields, many, to_one)
            if plain is not None:
                yield from written_lines(chain([header], plain))
                return
        readers = [
            _column_reader(to_one[field.attribute])
            if field.attribute in to_one
            else _cell_reader(resource, field, kwargs)
            for field in export_fields
        ]

        def rows() -> Iterator[list]:
            yield header
            for chunk, values in records_in_chunks(queryset, many):
                for record in chunk:
                    yield [
                        _joined(field, values[field.attribute].get(record.pk, ()))
                        if field.attribute in many
                        else read(record)
                        for field, read in zip(export_fields, readers, strict=True)
                    ]

        # tablib's dialect: csv.writer's defaults, which written_lines uses.
        yield from written_lines(rows())

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs.pop("request", None)
        # All or nothing: a row that fails validation rolls back the rows before it too.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            self.message_user(
                request,
                _("Nothing was imported: the file has rows that cannot be imported. Check it and try again."),
                messages.ERROR,
            )
            return HttpResponseRedirect(self._url("import"))
        return super().process_result(result, request)
