"""How the API says instruments, funding records, their totals and pledging conferences."""

from __future__ import annotations

from rest_framework import serializers

from migrationsupport.models import Theme
from migrationsupport.serializers import (
    PUBLISHING_FIELDS,
    ApiUrlField,
    CountryCodeRelatedField,
    PartialDateField,
    PublishableSerializer,
    PublishedSlugRelatedField,
    SourceField,
)
from migrationsupport.values import Qualifier
from regions.models import Country, Region

from .models import FundingRecord, Instrument, PledgingConference
from .selectors import GROUPINGS


class InstrumentSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:instrument-detail", lookup_field="slug")
    regions = PublishedSlugRelatedField(many=True, queryset=Region.objects.all(), required=False)
    source = SourceField()

    class Meta:
        model = Instrument
        fields = ("slug", "name", "short_name", "description", "regions", "source", *PUBLISHING_FIELDS)


class PledgingConferenceSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:conference-detail", lookup_field="slug")
    date = PartialDateField()
    regions = PublishedSlugRelatedField(many=True, queryset=Region.objects.all(), required=False)
    source = SourceField()

    class Meta:
        model = PledgingConference
        fields = ("slug", "name", "edition", "date", "place", "host", "regions", "source", *PUBLISHING_FIELDS)


class FundingRecordSerializer(PublishableSerializer):
    """A funding record: the exact amount in EUR (a decimal string) with its qualifier, as the
    source words it (``display``: "more than €33 billion"), its period, and where it nests."""

    api_url = ApiUrlField(view_name="api:funding-detail", lookup_field="slug")
    currency = serializers.SerializerMethodField(help_text="Always EUR.")
    display = serializers.CharField(
        source="amount_display",
        read_only=True,
        allow_null=True,
        help_text='The amount as a person writes it, e.g. "more than €33 billion"; null without a figure.',
    )
    period_start = PartialDateField(required=False, allow_null=True)
    period_end = PartialDateField(required=False, allow_null=True)
    period_display = serializers.CharField(
        read_only=True, help_text='e.g. "since 2021", "for 2024 and 2025".'
    )
    instrument = PublishedSlugRelatedField(queryset=Instrument.objects.all(), allow_null=True, required=False)
    conference = PublishedSlugRelatedField(
        queryset=PledgingConference.objects.all(), allow_null=True, required=False
    )
    regions = PublishedSlugRelatedField(many=True, queryset=Region.objects.all(), required=False)
    countries = CountryCodeRelatedField(many=True, queryset=Country.objects.all(), required=False)
    themes = PublishedSlugRelatedField(many=True, queryset=Theme.objects.all(), required=False)
    parent = PublishedSlugRelatedField(
        queryset=FundingRecord.objects.all(),
        allow_null=True,
        required=False,
        help_text="Slug of the larger figure this one is part of.",
    )
    children = PublishedSlugRelatedField(many=True, read_only=True, help_text="Slugs of its parts.")
    source = SourceField()

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
            "currency",
            "display",
            "period_start",
            "period_end",
            "period_display",
            "donor",
            "implementer",
            "instrument",
            "conference",
            "regions",
            "countries",
            "themes",
            "parent",
            "children",
            "source",
            *PUBLISHING_FIELDS,
        )

    def get_currency(self, obj) -> str:
        return "EUR"


class FundingTotalSerializer(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True,
        help_text="The group: a region or theme slug, an ISO code, an instrument slug or a year; "
        "null for records without one.",
    )
    label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=None, decimal_places=2, help_text="Exact sum in EUR.")
    qualifier = serializers.ChoiceField(choices=Qualifier.choices)
    currency = serializers.CharField()
    display = serializers.CharField(help_text='e.g. "more than €33 billion".')
    records = serializers.IntegerField(help_text="Records counted (parts inside a counted record are not).")


class FundingTotalsSerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUPINGS, allow_null=True)
    total = FundingTotalSerializer(help_text="All matching records, each euro counted once.")
    groups = FundingTotalSerializer(many=True, help_text="One total per group, largest first.")
