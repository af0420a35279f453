from __future__ import annotations

import django_filters

from migrationsupport.filters import RegionTreeFilter

from .models import CandidateStatus, CooperationStatus, Country


class CountryFilter(django_filters.FilterSet):
    region = RegionTreeFilter(
        field_name="region", label="Region", help_text="Region slug; includes sub-regions."
    )
    candidate_status = django_filters.ChoiceFilter(choices=CandidateStatus.choices)
    cooperation_status = django_filters.ChoiceFilter(choices=CooperationStatus.choices)
    eastern_partnership = django_filters.BooleanFilter(
        field_name="eastern_partnership_member", label="Eastern Partnership (ever a member)"
    )

    class Meta:
        model = Country
        fields: list[str] = []
