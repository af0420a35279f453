"""How the API says regions, countries, routes and population figures."""

from __future__ import annotations

from rest_framework import serializers

from migrationsupport.serializers import (
    PUBLISHING_FIELDS,
    ApiUrlField,
    DeprecatedCharField,
    PartialDateField,
    PublishableSerializer,
    PublishedSlugRelatedField,
    SourceField,
)

from .codes import to_alpha_2
from .models import Country, PopulationFigure, Region, Route, RouteFigure


class CountryCodeRelatedField(PublishedSlugRelatedField):
    """A country by its ISO 3166-1 alpha-2 code; ``tr``, ``TR``, ``TUR`` and ``792`` are the same country."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="iso_code", **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(to_alpha_2(data) if isinstance(data, str) else data)


class RegionSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:region-detail", lookup_field="slug")
    parent = PublishedSlugRelatedField(  # type: ignore[assignment]  # a declared field; the stubs see Field.parent
        queryset=Region.objects.all(), allow_null=True, required=False, help_text="Slug of the larger region."
    )
    subregions = PublishedSlugRelatedField(many=True, read_only=True, help_text="Slugs of its sub-regions.")
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = Region
        fields = (
            "slug",
            "name",
            "parent",
            "subregions",
            "summary",
            "body",
            "order",
            "source",
            *PUBLISHING_FIELDS,
        )


class CountrySerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:country-detail", lookup_field="iso_code")
    region = PublishedSlugRelatedField(queryset=Region.objects.all(), allow_null=True, required=False)
    eastern_partnership_left = PartialDateField(required=False, allow_null=True)
    cooperation_suspended_since = PartialDateField(required=False, allow_null=True)
    iso_alpha3 = serializers.SerializerMethodField(help_text="ISO 3166-1 alpha-3, e.g. TUR (pycountry).")
    iso_numeric = serializers.SerializerMethodField(help_text="ISO 3166-1 numeric, e.g. 792 (pycountry).")
    m49_region = serializers.SerializerMethodField(help_text="UN M49 region code, e.g. 142 (Asia).")
    m49_region_name = serializers.SerializerMethodField(help_text="UN M49 region name.")
    m49_subregion = serializers.SerializerMethodField(help_text="UN M49 sub-region code, e.g. 145.")
    m49_subregion_name = serializers.SerializerMethodField(help_text="UN M49 sub-region name.")
    eastern_partnership_participant = serializers.BooleanField(
        source="is_eastern_partnership_participant",
        read_only=True,
        help_text="A member that has not withdrawn.",
    )
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = Country
        fields = (
            "iso_code",
            "iso_alpha3",
            "iso_numeric",
            "m49_region",
            "m49_region_name",
            "m49_subregion",
            "m49_subregion_name",
            "slug",
            "name",
            "region",
            "candidate_status",
            "eastern_partnership_member",
            "eastern_partnership_left",
            "eastern_partnership_participant",
            "cooperation_status",
            "cooperation_suspended_since",
            "cooperation_note",
            "source",
            *PUBLISHING_FIELDS,
        )

    def get_iso_alpha3(self, obj) -> str | None:
        return obj.codes.alpha_3

    def get_iso_numeric(self, obj) -> str | None:
        return obj.codes.numeric

    def get_m49_region(self, obj) -> str | None:
        area = obj.codes.m49_region
        return area.code if area else None

    def get_m49_region_name(self, obj) -> str | None:
        area = obj.codes.m49_region
        return area.name if area else None

    def get_m49_subregion(self, obj) -> str | None:
        area = obj.codes.m49_subregion
        return area.code if area else None

    def get_m49_subregion_name(self, obj) -> str | None:
        area = obj.codes.m49_subregion
        return area.name if area else None

    def to_internal_value(self, data):
        # ISO codes are upper case; accept "tr" for "TR" as the lookups do.
        if isinstance(data, dict) and isinstance(data.get("iso_code"), str):
            data = {**data, "iso_code": data["iso_code"].upper()}
        return super().to_internal_value(data)


class RouteSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:route-detail", lookup_field="slug")
    regions = PublishedSlugRelatedField(many=True, queryset=Region.objects.all(), required=False)
    countries = CountryCodeRelatedField(
        many=True, queryset=Country.objects.all(), required=False, help_text="ISO codes."
    )
    figures = PublishedSlugRelatedField(many=True, read_only=True, help_text="Slugs of its route figures.")
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = Route
        fields = (
            "slug",
            "name",
            "description",
            "regions",
            "countries",
            "figures",
            "source",
            *PUBLISHING_FIELDS,
        )


class RouteFigureSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:route-figure-detail", lookup_field="slug")
    route = PublishedSlugRelatedField(queryset=Route.objects.all())
    period = PartialDateField()
    value_display = serializers.CharField(
        read_only=True,
        help_text='The figure as a person writes it, e.g. "70% decrease of irregular border crossings".',
    )
    display = DeprecatedCharField(
        source="value_display", read_only=True, help_text="Deprecated (removed in 1.2): value_display."
    )
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = RouteFigure
        fields = (
            "slug",
            "route",
            "label",
            "percent",
            "value_display",
            "period",
            "source",
            *PUBLISHING_FIELDS,
            "display",
        )


class PopulationFigureSerializer(PublishableSerializer):
    api_url = ApiUrlField(view_name="api:population-figure-detail", lookup_field="slug")
    country = CountryCodeRelatedField(
        queryset=Country.objects.all(), help_text="ISO code of the host country."
    )
    origins = CountryCodeRelatedField(
        many=True,
        queryset=Country.objects.all(),
        required=False,
        help_text="ISO codes of countries of origin.",
    )
    value_display = serializers.CharField(
        source="quantity", read_only=True, help_text='The value as a person writes it: "around 3.1 million".'
    )
    display = DeprecatedCharField(
        source="quantity", read_only=True, help_text="Deprecated (removed in 1.2): value_display."
    )
    since = PartialDateField(required=False, allow_null=True)
    as_of = PartialDateField(required=False, allow_null=True)
    source = SourceField()  # type: ignore[assignment]  # a declared field; the stubs see Field.source

    class Meta:
        model = PopulationFigure
        fields = (
            "slug",
            "country",
            "group",
            "value",
            "qualifier",
            "wording",
            "value_display",
            "origins",
            "origins_non_exhaustive",
            "since",
            "as_of",
            "source",
            *PUBLISHING_FIELDS,
            "display",
        )
