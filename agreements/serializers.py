"""How the API says agreements, their timeline events and key policy documents."""

from __future__ import annotations

from rest_framework import serializers

from migrationsupport.models import Theme
from migrationsupport.serializers import (
    PUBLISHING_FIELDS,
    ApiConventionsMixin,
    ApiUrlField,
    PartialDateField,
    PublishableSerializer,
    PublishedSlugRelatedField,
    SourceField,
)
from regions.models import Country, Region, Route
from regions.serializers import CountryCodeRelatedField

from .models import Agreement, AgreementEvent, AgreementStatus, Document, EventKind


class TimelineEventSerializer(ApiConventionsMixin, serializers.ModelSerializer):
    """An event as it appears on its agreement's timeline."""

    id = serializers.IntegerField(read_only=True)
    date = PartialDateField()
    resulting_status = serializers.ChoiceField(choices=AgreementStatus.choices, read_only=True)

    class Meta:
        model = AgreementEvent
        fields = ("id", "kind", "date", "description", "resulting_status", "official_reference")


class AgreementSerializer(PublishableSerializer):
    """An agreement or arrangement, its current status (after its latest published event) and its
    timeline. In CSV the timeline is left out: see the agreement-events endpoint."""

    api_url = ApiUrlField(view_name="api:agreement-detail", lookup_field="slug")
    parties = CountryCodeRelatedField(
        many=True, queryset=Country.objects.all(), required=False, help_text="ISO codes of the parties."
    )
    region = PublishedSlugRelatedField(queryset=Region.objects.all(), allow_null=True, required=False)
    current_status = serializers.ChoiceField(
        choices=AgreementStatus.choices,
        read_only=True,
        allow_blank=True,
        help_text="The status after the latest published event, or as the source states it; "
        "null when not recorded.",
    )
    themes = PublishedSlugRelatedField(many=True, queryset=Theme.objects.all(), required=False)
    events = TimelineEventSerializer(many=True, read_only=True, help_text="The timeline, oldest first.")
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = Agreement
        fields = (
            "slug",
            "title",
            "kind",
            "parties",
            "region",
            "agency",
            "description",
            "stated_status",
            "current_status",
            "events",
            "themes",
            "source",
            *PUBLISHING_FIELDS,
        )
        csv_exclude = ("events",)


class AgreementEventSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:agreement-event-detail", lookup_field="pk")
    id = serializers.IntegerField(read_only=True)
    agreement = PublishedSlugRelatedField(queryset=Agreement.objects.all())
    kind = serializers.ChoiceField(choices=EventKind.choices)
    date = PartialDateField()
    resulting_status = serializers.ChoiceField(choices=AgreementStatus.choices, read_only=True)
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = AgreementEvent
        fields = (
            "id",
            "agreement",
            "kind",
            "date",
            "description",
            "resulting_status",
            "official_reference",
            "transition_note",
            "source",
            *PUBLISHING_FIELDS,
        )


class DocumentSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:document-detail", lookup_field="slug")
    document_url = serializers.URLField(
        source="url",
        max_length=500,
        allow_blank=True,
        required=False,
        help_text="Address of the document itself (url is its page on this site).",
    )
    date = PartialDateField(required=False, allow_null=True)
    regions = PublishedSlugRelatedField(many=True, queryset=Region.objects.all(), required=False)
    countries = CountryCodeRelatedField(many=True, queryset=Country.objects.all(), required=False)
    routes = PublishedSlugRelatedField(
        many=True, queryset=Route.objects.all(), required=False, help_text="Slugs of the migratory routes."
    )
    themes = PublishedSlugRelatedField(many=True, queryset=Theme.objects.all(), required=False)
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = Document
        fields = (
            "slug",
            "title",
            "kind",
            "author",
            "date",
            "summary",
            "document_url",
            "regions",
            "countries",
            "routes",
            "themes",
            "source",
            *PUBLISHING_FIELDS,
        )
