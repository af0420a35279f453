"""Serializers: the shared base of every record serializer, its fields, and the site-wide records.

- ``PublishableSerializer``: public page and API addresses, publishing fields, and writes
  validated by the model's ``full_clean()``, the same validation as admin.
- Fields: partial dates (``PartialDateField``), sources (``SourceField``), related records by
  slug or ISO code that never show the public a draft (``PublishedSlugRelatedField``).
- ``ThemeSerializer`` and ``SourceSerializer`` for the site-wide records.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Mapping
from html.parser import HTMLParser

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.relations import MANY_RELATION_KWARGS
from rest_framework.settings import api_settings

from . import services
from .addresses import absolute_address, address_template, filled
from .models import Source, Status, Theme, published_or_none
from .richtext import RichTextField
from .values import DatePrecision, PartialDate


@extend_schema_field(OpenApiTypes.URI)
class PublicUrlField(serializers.Field):
    """The absolute address of the record's public page (``get_absolute_url``)."""

    def __init__(self, **kwargs):
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, obj):
        url = obj.get_absolute_url()
        request = self.context.get("request")
        return absolute_address(request, url) if request is not None else url


class ApiUrlField(serializers.HyperlinkedIdentityField):
    """The record's absolute address in this API (without the request's ``?format=``, so a CSV
    row links to the JSON record)."""

    def get_url(self, obj, view_name, request, format):
        # DRF's, with one reverse() per field and view rather than per record (the address of a
        # placeholder, the identifier put in: ``address_template``), as a list of records needs.
        if hasattr(obj, "pk") and obj.pk in (None, ""):
            return None
        url = self.path(view_name, getattr(obj, self.lookup_field))
        return absolute_address(request, url) if request is not None and url else url

    def template(self, view_name: str) -> str | None:
        """The address of ``view_name`` with a placeholder for the identifier (``address_template``),
        reversed once per field and view."""
        templates = self.__dict__.setdefault("_templates", {})
        if view_name not in templates:
            templates[view_name] = address_template(
                lambda placeholder: reverse(view_name, kwargs={self.lookup_url_kwarg: placeholder})
            )
        return templates[view_name]

    def path(self, view_name: str, value) -> str:
        """``reverse(view_name)`` for the record whose ``lookup_field`` is ``value``."""
        return filled(self.template(view_name), "" if value is None else str(value)) or reverse(
            view_name, kwargs={self.lookup_url_kwarg: value}
        )


_REDUCED_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def parse_partial_date(text: str) -> tuple[datetime.date, str]:
    """``"2016"``, ``"2016-03"`` or ``"2016-03-18"`` (ISO 8601 reduced precision) as the stored
    date and its precision: the year or month is stored as its first day."""
    match = _REDUCED_DATE.fullmatch(text.strip())
    if match is None:
        raise ValueError(text)
    year, month, day = match.groups()
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return datetime.date(int(year), int(month or 1), int(day or 1)), precision


class PartialDateField(serializers.Field):
    """A date as far as it is known, ISO 8601 reduced precision: ``"2016"``, ``"2016-03"``,
    ``"2023-10-18"``; never a day that is not known. The serializer adds two read-only fields
    beside it (``ApiConventionsMixin``): ``<name>_precision`` (year, month, day) and
    ``<name>_display`` ("March 2016").

    It reads and writes the model's two columns ``<name>`` and ``<name>_precision``. On input the
    precision follows from the text; the object of API 1.0 (``{"date": "2016-03-01",
    "precision": "month"}``) is still accepted until 1.2.
    """

    default_error_messages = {
        "invalid": 'Expected a date as far as it is known: "2016", "2016-03" or "2016-03-18".',
    }
    #: Its API 1.0 CSV column ``<name>_date`` is kept until 1.2 (``api.csv.csv_aliases``).
    csv_alias_date = True

    def __init__(self, **kwargs):
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    @property
    def column(self) -> str:
        assert self.field_name is not None  # set when the serializer binds the field
        return self.field_name

    def partial(self, obj) -> PartialDate | None:
        value = getattr(obj, self.column)
        if value is None:
            return None
        return PartialDate(value, getattr(obj, f"{self.column}_precision") or DatePrecision.DAY)

    def to_representation(self, obj):
        partial = self.partial(obj)
        return None if partial is None else partial.isoformat()

    def run_validation(self, data=serializers.empty):
        if data is None:
            if not self.allow_null:
                self.fail("null")
            return {self.column: None, f"{self.column}_precision": ""}
        return super().run_validation(data)

    def to_internal_value(self, data):
        if isinstance(data, dict):  # the deprecated object of API 1.0
            return self._from_object(data)
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            value, precision = parse_partial_date(data)
        except ValueError:
            self.fail("invalid")
        return {self.column: value, f"{self.column}_precision": precision}

    def _from_object(self, data: dict) -> dict:
        errors, value = {}, {}
        for key, field in (
            ("date", serializers.DateField()),
            ("precision", serializers.ChoiceField(choices=DatePrecision.choices)),
        ):
            raw = data.get(key, DatePrecision.DAY if key == "precision" else serializers.empty)
            try:
                value[key] = field.run_validation(raw)
            except serializers.ValidationError as exc:
                errors[key] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return {self.column: value["date"], f"{self.column}_precision": value["precision"]}


class PartialDatePartField(serializers.Field):
    """A read-only companion of a ``PartialDateField``: its ``precision`` or its ``display``
    ("March 2016"); null when the date is."""

    def __init__(self, date_field: PartialDateField, part: str, **kwargs):
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)
        self.date_field = date_field
        self.part = part

    def to_representation(self, obj):
        partial = self.date_field.partial(obj)
        if partial is None:
            return None
        return partial.precision if self.part == "precision" else str(partial)


def visible_related(field: serializers.Field, obj):
    """A related record as this answer may show it: the record for staff who see drafts,
    else ``published_or_none(obj)`` (a draft reads as a relation not set yet)."""
    return obj if field.context.get("show_drafts") else published_or_none(obj)


class PublishedManyRelatedField(serializers.ManyRelatedField):
    """A to-many relation that lists only the records this answer may show. The viewsets
    prefetch published records only; a draft that reaches here anyway is left out, not shown
    as a null in the list."""

    def to_representation(self, iterable):
        return [value for value in super().to_representation(iterable) if value is not None]


class PublishedSlugRelatedField(serializers.SlugRelatedField):
    """A related record by its slug. Writers may link drafts; the public never sees a draft's
    slug (it reads as null: the relation is not published yet; a list leaves it out)."""

    def __init__(self, slug_field="slug", **kwargs):
        super().__init__(slug_field=slug_field, **kwargs)

    @classmethod
    def many_init(cls, *args, **kwargs):
        # DRF's RelatedField.many_init, with the list that leaves drafts out.
        list_kwargs = {key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS}
        return PublishedManyRelatedField(child_relation=cls(*args, **kwargs), **list_kwargs)

    def to_representation(self, obj):
        obj = visible_related(self, obj)
        return None if obj is None else super().to_representation(obj)


class SourceField(serializers.SlugRelatedField):
    """Where a record comes from: written as the source's slug, read as
    ``{"slug", "title", "publisher", "url"}`` (provenance is always shown with the record), or
    null while the source is a draft (its title and address are not reviewed yet)."""

    csv_subfields = ("slug", "title", "publisher", "url")

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Source.objects.all())
        super().__init__(slug_field="slug", **kwargs)

    def to_representation(self, source):
        source = visible_related(self, source)
        if source is None:
            return None
        return self.represent(source.slug, source.title, source.publisher, source.url)

    @staticmethod
    def represent(slug: str, title: str, publisher: str, url: str) -> dict[str, str | None]:
        # null, never "", for what the source does not state (docs/api.md).
        return {"slug": slug, "title": title, "publisher": publisher or None, "url": url or None}


PARTIAL_DATE_PATTERN = r"^\d{4}(-\d{2}(-\d{2})?)?$"


class PartialDateFieldExtension(OpenApiSerializerFieldExtension):
    target_class = PartialDateField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = {
            "type": "string",
            "pattern": PARTIAL_DATE_PATTERN,
            "description": 'ISO 8601 reduced to what is known: "2016", "2016-03" or "2016-03-18". '
            "Its precision is in the field of the same name with _precision.",
            "example": "2016-03",
        }
        if self.target.allow_null:
            schema["nullable"] = True
        return schema


class PartialDatePartFieldExtension(OpenApiSerializerFieldExtension):
    target_class = PartialDatePartField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        if self.target.part == "precision":
            schema = {
                "type": "string",
                "pattern": f"^({'|'.join(DatePrecision.values)})$",
                "description": f"What is known of {self.target.date_field.column}: year, month or day.",
            }
        else:
            schema = {
                "type": "string",
                "description": f'{self.target.date_field.column} as a person writes it: "2016", '
                '"March 2016", "18 October 2023".',
            }
        schema["nullable"] = True
        schema["readOnly"] = True
        return schema


class SourceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = SourceField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return {"type": "string", "description": "Slug of the source."}
        return {
            "type": "object",
            "nullable": True,
            "description": "Where the record comes from; null while its source is not published.",
            "properties": {
                "slug": {"type": "string"},
                "title": {"type": "string"},
                "publisher": {"type": "string", "nullable": True},
                "url": {"type": "string", "format": "uri", "nullable": True},
            },
            "required": ["slug", "title", "publisher", "url"],
        }


# --- Serializers -------------------------------------------------------------------------------

PUBLISHING_FIELDS = ("url", "api_url", "status", "publish_at", "version", "created_at", "updated_at")


def _has_unstorable_characters(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, Mapping):
        return any(_has_unstorable_characters(k) or _has_unstorable_characters(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unstorable_characters(item) for item in value)
    return False


def _printable(key: str) -> str:
    """A field name safe to echo in a JSON answer (an unpaired surrogate cannot be encoded)."""
    return key.encode("utf-8", "backslashreplace").decode() if isinstance(key, str) else str(key)


_BLOCKS = {"p", "li", "blockquote", "ul", "ol"}
_FOOTNOTE_MARK = re.compile(r"\s*(\[\d+\]|\d+|\*+)\s*")
#: A footnote mark the source wrote as text, right after a word: "Belarus[1]".
_LITERAL_MARK = re.compile(r"(?<=\w)\[\d+\]")


class _PlainText(HTMLParser):
    """The text of sanitised rich text: paragraphs, items and line breaks become line ends,
    entities are decoded, footnote marks (``<sup>[1]</sup>``) are left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.sup: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "sup":
            self.sup = []
        elif tag == "br" or tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "sup" and self.sup is not None:
            text = "".join(self.sup)
            if not _FOOTNOTE_MARK.fullmatch(text):
                self.parts.append(text)
            self.sup = None
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        (self.sup if self.sup is not None else self.parts).append(data)


def plain_text(html: str | None) -> str | None:
    """Rich text as plain text: one line per paragraph or item, no markup, no footnote marks."""
    if not html:
        return None
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    text = _LITERAL_MARK.sub("", "".join(parser.parts))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line) or None


class HtmlField(serializers.CharField):
    """Rich text as the site shows it: sanitised HTML (``<p>``, ``<a href>``, ``<sup>``...),
    typed ``format: html`` in the schema. ``deprecated``: the 1.0 name of the field."""

    def __init__(self, *, deprecated: bool = False, **kwargs):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.deprecated = deprecated


class DeprecatedCharField(serializers.CharField):
    """A text under its API 1.0 name, kept until 1.2: marked deprecated in the schema, and put
    after the other fields (JSON keys and CSV columns)."""

    deprecated = True


class DeprecatedDecimalField(serializers.DecimalField):
    """A number under its API 1.0 name, kept until 1.2 (as ``DeprecatedCharField``)."""

    deprecated = True


class DeprecatedChoiceField(serializers.ChoiceField):
    """A choice under its API 1.0 name, kept until 1.2 (as ``DeprecatedCharField``)."""

    deprecated = True


class PlainTextField(serializers.CharField):
    """Rich text as plain text (``plain_text``): read only, null when there is none."""

    def __init__(self, **kwargs):
        kwargs.update(read_only=True, allow_null=True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return plain_text(value)


class HtmlFieldExtension(OpenApiSerializerFieldExtension):
    target_class = HtmlField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = {
            "type": "string",
            "format": "html",
            "nullable": True,
            "description": "Sanitised HTML. The same text without markup is in the field named with _text.",
        }
        if self.target.deprecated:
            schema["deprecated"] = True
            schema["description"] = f"Deprecated (removed in 1.2): the same as {self.target.field_name}_html."
        return schema


def _is_rich_text(model, field: serializers.Field, name: str) -> bool:
    if isinstance(field, HtmlField | PlainTextField | DeprecatedCharField) or not isinstance(
        field, serializers.CharField
    ):
        return False
    try:
        column = model._meta.get_field(field.source if field.source not in (None, "") else name)
    except FieldDoesNotExist:
        return False
    return isinstance(column, RichTextField)


class ApiConventionsMixin:
    """What every serializer of the API says the same way (docs/api.md):

    - a partial date ``<name>`` comes with ``<name>_precision`` and ``<name>_display`` beside it;
    - an absent value is ``null``, never ``""`` (text and choices are nullable; on input null
      is stored as the empty text of a column that has no NULL);
    - rich text ``<name>`` is ``<name>_html`` (sanitised HTML, typed html) and ``<name>_text``
      (plain); ``<name>``, its 1.0 name, stays until 1.2, at the end, marked deprecated.
    """

    def get_fields(self):
        fields = super().get_fields()
        output_only = not isinstance(self, serializers.ModelSerializer)  # totals and their parts
        model = None if output_only else getattr(getattr(self, "Meta", None), "model", None)
        conventional, deprecated = {}, {}
        for name, field in fields.items():
            if getattr(field, "deprecated", False):
                deprecated[name] = field
                continue
            if model is not None and _is_rich_text(model, field, name):
                source = field.source if field.source not in (None, "") else name
                conventional[f"{name}_html"] = HtmlField(
                    source=source, read_only=field.read_only, help_text=field.help_text
                )
                conventional[f"{name}_text"] = PlainTextField(source=source)
                deprecated[name] = HtmlField(
                    read_only=field.read_only,
                    deprecated=True,
                    **({} if source == name else {"source": source}),
                )
                continue
            if isinstance(field, serializers.CharField | serializers.ChoiceField) and (
                output_only or field.read_only or field.allow_blank
            ):
                field.allow_null = True
            conventional[name] = field
            if isinstance(field, PartialDateField):
                for part in ("precision", "display"):
                    if f"{name}_{part}" not in fields:
                        conventional[f"{name}_{part}"] = PartialDatePartField(field, part)
        return {**conventional, **deprecated}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key, value in data.items():
            if value == "":
                data[key] = None
        return data

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        model = getattr(getattr(self, "Meta", None), "model", None)
        if model is not None:
            for name, value in attrs.items():
                if value is None:
                    try:
                        column = model._meta.get_field(name)
                    except FieldDoesNotExist:
                        continue
                    if not column.null and isinstance(column, models.CharField | models.TextField):
                        attrs[name] = ""
        return attrs


class PublishableSerializer(ApiConventionsMixin, serializers.ModelSerializer):
    """Base of every record serializer: public page and API addresses, publishing fields, and
    writes validated by the model's ``full_clean()`` (``clean()`` rules, check constraints) so
    the API refuses exactly what admin refuses, field by field."""

    url: serializers.Field = PublicUrlField(help_text="Absolute address of the record's public page.")

    class Meta:
        read_only_fields = ("version", "created_at", "updated_at")

    def to_internal_value(self, data):
        """Refuse, field by field, what DRF would pass on silently or as a server error: fields
        the record does not have (a typo must not be ignored; read-only fields a client read
        are fine), and NUL characters or unpaired surrogates in any string, which PostgreSQL
        cannot store (related records' slugs and partial dates included)."""
        if isinstance(data, Mapping):
            errors: dict[str, list[str]] = {}
            for key, value in data.items():
                if key not in self.fields:
                    errors[_printable(key)] = [
                        "Unknown field: this record's fields are listed in the API schema (/api/schema/)."
                    ]
                elif _has_unstorable_characters(value):
                    errors[key] = ["NUL characters and unpaired surrogates are not allowed."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        many_to_many = {field.name for field in model._meta.many_to_many}
        instance = copy.copy(self.instance) if self.instance is not None else model()
        for name, value in attrs.items():
            if name not in many_to_many:
                setattr(instance, name, value)
        try:
            instance.full_clean(validate_unique=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(self._api_errors(exc)) from exc
        return attrs

    def create(self, validated_data):
        """A new record through ``services.create_record``: who made it goes into its history.
        Publishing or scheduling it at once is a Publisher's right, as in admin."""
        user = self.context["request"].user
        model = self.Meta.model
        wants_publishing = validated_data.get("status") == Status.PUBLISHED or validated_data.get(
            "publish_at"
        )
        if wants_publishing and not services.can_publish(user, model):
            raise exceptions.PermissionDenied("Only a Publisher can publish or schedule a record.")
        relations = self._pop_many_to_many(validated_data)
        instance = services.create_record(instance=model(**validated_data), user=user)
        self._set_many_to_many(instance, relations)
        return instance

    def update(self, instance, validated_data):
        """A change through ``services.save_with_version_check``: the row is locked, an Editor
        may not change a published record, its status or its schedule, history names the user."""
        relations = self._pop_many_to_many(validated_data)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        services.save_with_version_check(
            instance=instance, expected_version=instance.version, user=self.context["request"].user
        )
        self._set_many_to_many(instance, relations)
        return instance

    def _pop_many_to_many(self, validated_data) -> dict:
        names = {field.name for field in self.Meta.model._meta.many_to_many}
        return {name: validated_data.pop(name) for name in list(validated_data) if name in names}

    @staticmethod
    def _set_many_to_many(instance, relations: dict) -> None:
        for name, value in relations.items():
            getattr(instance, name).set(value)

    def _api_errors(self, exc: DjangoValidationError) -> dict[str, list[str]]:
        """Model field names to the API's: ``period_start_precision`` is reported on ``period_start``."""
        errors: dict[str, list[str]] = {}
        for name, messages in exc.message_dict.items():
            key = api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name
            if key.endswith("_precision") and key.removesuffix("_precision") in self.fields:
                key = key.removesuffix("_precision")
            elif key not in self.fields and key != api_settings.NON_FIELD_ERRORS_KEY:
                key = api_settings.NON_FIELD_ERRORS_KEY
            errors.setdefault(key, []).extend(messages)
        return errors


class ThemeSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:theme-detail", lookup_field="slug")
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = Theme
        fields = ("slug", "name", "description", "order", "source", *PUBLISHING_FIELDS)


class SourceSerializer(PublishableSerializer):
    """A source: ``url`` is its own address (where the figures come from)."""

    api_url = ApiUrlField(view_name="api:source-detail", lookup_field="slug")
    url = serializers.URLField(max_length=500, help_text="Address of the source.")
    date = PartialDateField(required=False, allow_null=True)

    class Meta:
        model = Source
        fields = ("slug", "title", "publisher", "url", "date", *PUBLISHING_FIELDS)
