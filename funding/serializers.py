"""How the API says instruments, funding records, their totals and pledging conferences."""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import partial
from typing import ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from migrationsupport.models import Theme
from migrationsupport.serializers import (
    PARTIAL_DATE_PATTERN,
    PUBLISHING_FIELDS,
    ApiConventionsMixin,
    ApiUrlField,
    DeprecatedCharField,
    DeprecatedChoiceField,
    DeprecatedDecimalField,
    PartialDateField,
    PublishableSerializer,
    PublishedSlugRelatedField,
    SourceField,
    visible_related,
)
from migrationsupport.values import Qualifier, reads_columns
from regions.models import Country, Region
from regions.serializers import CountryCodeRelatedField

from .codes import CURRENCY
from .models import Donor, FundingRecord, Instrument, Measure, PledgingConference
from .selectors import FOLLOWED_MEASURES, GROUPINGS, FundingPart, FundingTotal


class InstrumentSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:instrument-detail", lookup_field="slug")
    regions = PublishedSlugRelatedField(many=True, queryset=Region.objects.all(), required=False)
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = Instrument
        fields = ("slug", "name", "short_name", "description", "regions", "source", *PUBLISHING_FIELDS)


class PledgingConferenceSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:conference-detail", lookup_field="slug")
    date = PartialDateField()
    regions = PublishedSlugRelatedField(many=True, queryset=Region.objects.all(), required=False)
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    follow_through_url = ApiUrlField(
        view_name="api:conference-follow-through",
        lookup_field="slug",
        help_text="Its pledges followed through: pledged, committed and paid, each with its date.",
    )

    class Meta:
        model = PledgingConference
        fields = (
            "slug",
            "name",
            "edition",
            "date",
            "place",
            "host",
            "regions",
            "source",
            "follow_through_url",
            *PUBLISHING_FIELDS,
        )


@extend_schema_field(OpenApiTypes.STR)
class LinkedRecordSlugField(PublishedSlugRelatedField):
    """A fulfilment link, read as the slug of the record at its ``other`` end. The public sees
    published links between published records only (``Fulfilment.objects.published()``, which
    the viewset prefetches and the CSV rows read)."""

    def __init__(self, *, other: str, **kwargs):
        self.other = other
        super().__init__(slug_field=f"{other}__slug", **kwargs)

    def to_representation(self, obj):
        link = visible_related(self, obj)
        return None if link is None else getattr(link, self.other).slug


class FundingRecordSerializer(PublishableSerializer):
    """A funding record: the exact amount in EUR (a decimal string) with its qualifier, as the
    source words it (``display``: "more than €33 billion"), its period, and where it nests."""

    api_url = ApiUrlField(view_name="api:funding-detail", lookup_field="slug")
    currency = serializers.SerializerMethodField(help_text="ISO 4217 code: always EUR.")
    dac_purpose_name = serializers.CharField(
        read_only=True, allow_null=True, help_text="The OECD DAC purpose code's name; null without one."
    )
    amount_display = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text='The amount as a person writes it, e.g. "more than €33 billion"; null without a figure.',
    )
    display = DeprecatedCharField(
        source="amount_display",
        read_only=True,
        allow_null=True,
        help_text="Deprecated (removed in 1.2): amount_display.",
    )
    period_start = PartialDateField(required=False, allow_null=True)
    period_end = PartialDateField(required=False, allow_null=True)
    period_display = serializers.CharField(
        read_only=True, help_text='e.g. "since 2021", "for 2024 and 2025".'
    )
    period_kind = serializers.CharField(
        read_only=True,
        help_text='"point" for a moment ("adopted in 2024": start and end the same), "range" for a span '
        '("since 2021", "for 2024 and 2025"), null without a period.',
    )
    measure = serializers.ChoiceField(
        choices=Measure.choices,
        required=False,
        allow_blank=True,
        help_text="What the amount measures: mobilised, pledged, committed (or allocated), contracted, "
        "paid. Required with an amount; a part left empty takes its whole's. Totals never add two "
        "measures or two donors.",
    )
    source_passage = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The source's exact words this figure is taken from.",
    )
    may_overlap = PublishedSlugRelatedField(
        many=True,
        queryset=FundingRecord.objects.all(),
        required=False,
        help_text="Slugs of figures of the same measure and donor that may overlap this one: totals "
        "over both give a range (lower, upper).",
    )
    instrument = PublishedSlugRelatedField(queryset=Instrument.objects.all(), allow_null=True, required=False)
    conference = PublishedSlugRelatedField(
        queryset=PledgingConference.objects.all(), allow_null=True, required=False
    )
    regions = PublishedSlugRelatedField(many=True, queryset=Region.objects.all(), required=False)
    countries = CountryCodeRelatedField(many=True, queryset=Country.objects.all(), required=False)
    themes = PublishedSlugRelatedField(many=True, queryset=Theme.objects.all(), required=False)
    parent = PublishedSlugRelatedField(  # type: ignore[assignment]  # a declared field; the stubs see Field.parent
        queryset=FundingRecord.objects.all(),
        allow_null=True,
        required=False,
        help_text="Slug of the larger figure this one is part of.",
    )
    children = PublishedSlugRelatedField(many=True, read_only=True, help_text="Slugs of its parts.")
    fulfils = LinkedRecordSlugField(
        many=True,
        other="fulfilled",
        read_only=True,
        help_text="Slugs of the pledges or commitments this commitment or payment fulfils.",
    )
    fulfilled_by = LinkedRecordSlugField(
        many=True,
        other="fulfilling",
        read_only=True,
        help_text="Slugs of the commitments and payments reported against this pledge or commitment.",
    )
    follow_through_url = serializers.SerializerMethodField(
        help_text="For a pledge or a commitment: its figures followed through (pledged, committed, paid); "
        "null for other measures."
    )
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = FundingRecord
        fields = (
            "slug",
            "title",
            "kind",
            "description",
            "amount",
            "qualifier",
            "wording",
            "measure",
            "currency",
            "amount_display",
            "period_start",
            "period_end",
            "period_display",
            "period_kind",
            "donor",
            "donor_iati_identifier",
            "dac_purpose_code",
            "dac_purpose_name",
            "implementer",
            "instrument",
            "conference",
            "regions",
            "countries",
            "themes",
            "parent",
            "children",
            "may_overlap",
            "fulfils",
            "fulfilled_by",
            "follow_through_url",
            "source",
            "source_passage",
            *PUBLISHING_FIELDS,
            "display",
        )

    @reads_columns()
    def get_currency(self, obj) -> str:
        return CURRENCY.alpha_3

    @extend_schema_field(OpenApiTypes.URI)
    @reads_columns("measure", "slug")
    def get_follow_through_url(self, obj) -> str | None:
        if obj.measure not in FOLLOWED_MEASURES:
            return None
        field = self._follow_through_field
        return field.get_url(obj, field.view_name, self.context.get("request"), None)

    @cached_property
    def _follow_through_field(self) -> ApiUrlField:
        # One per serializer, not per record: a list reverses its address once (ApiUrlField.path).
        return ApiUrlField(view_name="api:funding-follow-through", lookup_field="slug")

    def validate(self, attrs):
        """The model's rules, then the marks of possible overlap, which a many-to-many field
        cannot check in ``clean()``: same measure and donor, not itself, its whole or its parts."""
        attrs = super().validate(attrs)
        if attrs.get("may_overlap"):
            record = copy.copy(self.instance) if self.instance is not None else FundingRecord()
            for name in ("measure", "donor", "parent"):
                if name in attrs:
                    setattr(record, name, attrs[name])
            record.inherit_from_whole()
            try:
                record.clean_may_overlap(attrs["may_overlap"])
            except DjangoValidationError as error:
                raise serializers.ValidationError(error.message_dict) from error
        return attrs


def _text(value) -> str | None:
    """A ``CharField``'s value as ``ApiConventionsMixin`` gives it: null for none or ""."""
    return None if value is None else str(value) or None


def _choice(choice_field: serializers.ChoiceField, value) -> str | None:
    """``ChoiceField.to_representation``, with ``ApiConventionsMixin``'s null for ""."""
    return _choice_of(choice_field.choice_strings_to_values, value)


_CENTS = Decimal("0.01")


def _choice_of(values: dict, value) -> str | None:
    """A choice field's value from its ``choice_strings_to_values`` (``_choice``)."""
    return None if value is None or value == "" else values.get(str(value), value)


def _plain_amount(value) -> Decimal | None:
    """A plain amount field's ``to_representation`` (``_is_plain_amount``)."""
    if value is None:
        return None
    return (value if isinstance(value, Decimal) else Decimal(str(value).strip())).quantize(_CENTS)


def _amount(decimal_field: serializers.DecimalField, value) -> Decimal | str | None:
    """``DecimalField.to_representation``: for the totals' amounts (a JSON number to the cent,
    no maximum of digits) without copying the decimal context on each value."""
    if value is None or not _is_plain_amount(decimal_field):
        return decimal_field.to_representation(value)
    return _plain_amount(value)


def _is_plain_amount(decimal_field: serializers.DecimalField) -> bool:
    coerce = getattr(decimal_field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    return (
        decimal_field.decimal_places == 2
        and decimal_field.max_digits is None
        and decimal_field.rounding is None
        and not decimal_field.normalize_output
        and not coerce
    )


def _boolean(boolean_field: serializers.BooleanField, value) -> bool | None:
    """``BooleanField.to_representation``, at once for a bool."""
    return value if type(value) is bool else boolean_field.to_representation(value)


def _integer(value) -> int | None:
    return None if value is None else int(value)


class FundingPartSerializer(ApiConventionsMixin, serializers.Serializer):
    donor = serializers.ChoiceField(choices=Donor.choices)
    amount = serializers.DecimalField(max_digits=None, decimal_places=2, coerce_to_string=False)
    qualifier = serializers.ChoiceField(choices=Qualifier.choices)
    amount_display = serializers.CharField(help_text='e.g. "€2.12 billion".')
    records = serializers.IntegerField()
    display = DeprecatedCharField(
        source="amount_display", help_text="Deprecated (removed in 1.2): amount_display."
    )

    def to_representation(self, instance):
        """The fields' object, built directly for a ``FundingPart`` (as ``FundingTotalSerializer``)."""
        if type(instance) is not FundingPart:
            return super().to_representation(instance)
        fields = self.fields
        display, amount = _text(instance.amount_display), instance.amount
        return {
            "donor": _choice(fields["donor"], instance.donor),
            "amount": _amount(fields["amount"], amount),
            "qualifier": _choice(fields["qualifier"], instance.qualifier),
            "amount_display": display,
            "records": _integer(instance.records),
            "display": display,
        }


class FundingTotalSerializer(ApiConventionsMixin, serializers.Serializer):
    """One total: one measure from one donor scope, never a sum across measures or donors."""

    key = serializers.CharField(
        allow_null=True,
        help_text="The group: region or theme slugs, ISO codes or an instrument slug, comma-separated "
        "for a figure shared by several (each figure is in exactly one group); a year, or "
        '"several" for periods not within one year; null for records without one, and for the '
        "overall totals.",
    )
    label = serializers.CharField(  # type: ignore[assignment]  # a declared field; the stubs see Field.label
        help_text='e.g. "Shared by Montenegro and Serbia"; null overall.'
    )
    recipients = serializers.SerializerMethodField(help_text="The identifiers in key, as a list.")
    measure = serializers.ChoiceField(choices=Measure.choices, help_text="What the amounts measure.")
    donor = serializers.ChoiceField(choices=Donor.choices, help_text="Who gives them.")
    lower = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        coerce_to_string=False,
        help_text="In EUR: the total if every figure marked as possibly overlapping is part of another.",
    )
    lower_qualifier = serializers.ChoiceField(choices=Qualifier.choices)
    upper = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        coerce_to_string=False,
        help_text="In EUR: the total if they are all separate. Equal to lower unless is_range.",
    )
    upper_qualifier = serializers.ChoiceField(choices=Qualifier.choices)
    is_range = serializers.BooleanField(help_text="True when figures that may overlap make it a range.")
    currency = serializers.SerializerMethodField(help_text="Always EUR.")
    amount_display = serializers.CharField(
        source="display", help_text='e.g. "more than €350 million; up to more than €386 million if ...".'
    )
    records = serializers.IntegerField(help_text="Figures counted (parts inside a counted figure are not).")
    nested = serializers.IntegerField(help_text="Figures left out as parts of a counted figure.")
    overlapping = serializers.IntegerField(help_text="Counted figures left out of lower (they may overlap).")
    parts = FundingPartSerializer(
        many=True, help_text="Nested money given by a narrower donor: of which ... by the Commission."
    )
    parts_display = serializers.SerializerMethodField(help_text='e.g. "of which €2.12 billion by ...".')
    amount = DeprecatedDecimalField(
        source="lower",
        max_digits=None,
        decimal_places=2,
        help_text="Deprecated (removed in 1.2): use lower and upper.",
    )
    qualifier = DeprecatedChoiceField(
        source="lower_qualifier",
        choices=Qualifier.choices,
        help_text="Deprecated (removed in 1.2): use lower_qualifier.",
    )
    display = DeprecatedCharField(help_text="Deprecated (removed in 1.2): amount_display.")

    #: ``_plan``, built on first use (per class: a subclass builds its own).
    _shared_plan: ClassVar[tuple | None] = None

    class Meta:
        csv_exclude = ("parts",)

    def to_representation(self, instance):
        """The fields' object, built directly for a ``FundingTotal``: a grouped answer holds
        thousands (1 380 groups by country at +100 000 records), and the fields one by one
        cost more than the totals themselves. ``tests/api/test_totals_representation.py``
        compares it with the fields' own on varied totals."""
        if type(instance) is not FundingTotal:
            return super().to_representation(instance)
        choices, amounts, part, is_range = self._plan
        display = _text(instance.display)
        return {
            "key": _text(instance.key),
            "label": _text(instance.label),
            "recipients": self.get_recipients(instance),
            "measure": _choice_of(choices["measure"], instance.measure),
            "donor": _choice_of(choices["donor"], instance.donor),
            "lower": amounts["lower"](instance.lower),
            "lower_qualifier": _choice_of(choices["lower_qualifier"], instance.lower_qualifier),
            "upper": amounts["upper"](instance.upper),
            "upper_qualifier": _choice_of(choices["upper_qualifier"], instance.upper_qualifier),
            "is_range": is_range(instance.is_range),
            "currency": self.get_currency(instance),
            "amount_display": display,
            "records": _integer(instance.records),
            "nested": _integer(instance.nested),
            "overlapping": _integer(instance.overlapping),
            "parts": [part(each) for each in instance.parts],
            "parts_display": (self.get_parts_display(instance) or None) if instance.parts else None,
            "amount": amounts["amount"](instance.lower),
            "qualifier": _choice_of(choices["qualifier"], instance.lower_qualifier),
            "display": display,
        }

    @property
    def _plan(self):
        """What ``to_representation`` reads from its fields, once per process rather than once
        per total: each choice field's values, the amount, part and ``is_range`` writers. They
        are the class's declared fields, which depend on no request (nothing here reads the
        context), read from an unbound instance: an answer's serializers (two or three in a
        grouped answer) then never deep-copy their 20 fields each, and the stored answers'
        rebuild writes one answer for every set and grouping. Tests start without it
        (``tests/conftest.py``)."""
        plan = type(self).__dict__.get("_shared_plan")
        if plan is None:
            plan = type(self)._shared_plan = type(self)()._fields_plan()
        return plan

    def _fields_plan(self):
        fields = self.fields
        choices = {
            name: fields[name].choice_strings_to_values
            for name in ("measure", "donor", "lower_qualifier", "upper_qualifier", "qualifier")
        }
        amounts = {
            name: _plain_amount if _is_plain_amount(fields[name]) else fields[name].to_representation
            for name in ("lower", "upper", "amount")
        }
        return (
            choices,
            amounts,
            fields["parts"].child.to_representation,
            partial(_boolean, fields["is_range"]),
        )

    @reads_columns()
    def get_currency(self, obj) -> str:
        return "EUR"

    def get_recipients(self, obj) -> list[str]:
        return [identifier for identifier, _name in obj.recipients]

    def get_parts_display(self, obj) -> str | None:
        return "; ".join(f"of which {part.amount_display} by {part.donor_phrase}" for part in obj.parts)


class FundingTotalsSerializer(ApiConventionsMixin, serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUPINGS, allow_null=True)
    totals = FundingTotalSerializer(
        many=True, help_text="One total per measure and donor present, never one sum across them."
    )
    groups = FundingTotalSerializer(
        many=True,
        help_text="With group_by: one total per group, measure and donor; the groups of a measure and "
        "donor add up exactly to its entry in totals.",
    )
    total = FundingTotalSerializer(
        allow_null=True,
        help_text="Deprecated (removed in v1.2): the only entry of totals when there is exactly one, "
        "else null (a sum across measures or donors would mislead).",
    )


class PartialDateValueField(serializers.Field):
    """A ``PartialDate`` value (not model columns) as ISO 8601 reduced to what is known."""

    def to_representation(self, value) -> str | None:
        return None if value is None else value.isoformat()


@extend_schema_field(
    {"type": "string", "pattern": PARTIAL_DATE_PATTERN, "nullable": True, "example": "2024-05-27"}
)
class _AsOfField(PartialDateValueField):
    pass


class ShareSerializer(ApiConventionsMixin, serializers.Serializer):
    percent = serializers.DecimalField(
        max_digits=None, decimal_places=0, coerce_to_string=False, help_text="Whole percent, e.g. 45."
    )
    qualifier = serializers.ChoiceField(
        choices=Qualifier.choices,
        help_text="exact, or how the qualifiers of the two figures make it approximate: more_than, "
        "almost, about.",
    )
    percent_display = serializers.CharField(source="display", help_text='e.g. "more than 40 %".')


class FollowUpStageSerializer(ApiConventionsMixin, serializers.Serializer):
    measure = serializers.ChoiceField(choices=Measure.choices, help_text="committed, contracted or paid.")
    totals = FundingTotalSerializer(many=True, help_text="One per donor scope, never added together.")
    as_of = _AsOfField(help_text="The latest date of the records summed.")
    as_of_precision = serializers.SerializerMethodField()
    as_of_display = serializers.SerializerMethodField()
    share = ShareSerializer(
        allow_null=True, help_text="Of the promise; null where the figures do not allow one."
    )
    share_note = serializers.CharField(
        allow_null=True, help_text="Why there is no share, when there is none."
    )

    class Meta:
        csv_exclude = ("totals",)

    def get_as_of_precision(self, obj) -> str | None:
        return obj.as_of.precision if obj.as_of else None

    def get_as_of_display(self, obj) -> str | None:
        return str(obj.as_of) if obj.as_of else None

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["share_note"] = data["share_note"] or None
        return data


class FollowThroughSerializer(ApiConventionsMixin, serializers.Serializer):
    """A promise (pledges, or a commitment) and what was reported to fulfil it, per measure."""

    promised = FundingTotalSerializer(
        many=True, help_text="The totals of the figures followed: one per measure and donor."
    )
    promised_as_of = _AsOfField(help_text="The latest date of the figures followed (a conference's date).")
    promised_as_of_precision = serializers.SerializerMethodField()
    promised_as_of_display = serializers.SerializerMethodField()
    reported = serializers.BooleanField(
        help_text="False: no follow-up reported (say so; never 0 %). True: see stages."
    )
    shared = serializers.BooleanField(
        help_text="Some follow-up also fulfils figures outside this set: shown in full for each, no share."
    )
    stages = FollowUpStageSerializer(many=True, help_text="committed, contracted, paid: those reported.")
    sources = serializers.SerializerMethodField(help_text="Sources of the follow-up figures and their links.")

    def get_promised_as_of_precision(self, obj) -> str | None:
        return obj.promised_as_of.precision if obj.promised_as_of else None

    def get_promised_as_of_display(self, obj) -> str | None:
        return str(obj.promised_as_of) if obj.promised_as_of else None

    def get_sources(self, obj) -> list[dict]:
        return [
            {"slug": s.slug, "title": s.title, "publisher": s.publisher or None, "url": s.url or None}
            for s in obj.sources
        ]
