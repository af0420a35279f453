"""``FundingTotalSerializer`` and ``FundingPartSerializer`` build a total's object directly (a
grouped answer holds thousands): byte for byte the object their fields give, on any total."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funding.models import Donor, Measure
from funding.selectors import FundingPart, FundingTotal
from funding.serializers import FundingPartSerializer, FundingTotalSerializer, FundingTotalsSerializer
from migrationsupport.api_defaults import DecimalJSONRenderer
from migrationsupport.serializers import ApiConventionsMixin
from migrationsupport.values import Qualifier
from tests.api.support import API

amounts = st.decimals(min_value=0, max_value=Decimal("1e14"), places=3, allow_nan=False)
texts = st.text(max_size=12)
parts = st.builds(
    FundingPart,
    donor=st.sampled_from(Donor.values),
    amount=amounts,
    qualifier=st.sampled_from(Qualifier.values),
    records=st.integers(min_value=0, max_value=10_000),
)
totals = st.builds(
    FundingTotal,
    measure=st.sampled_from(Measure.values),
    donor=st.sampled_from(Donor.values),
    lower=amounts,
    upper=amounts,
    lower_qualifier=st.sampled_from(Qualifier.values),
    upper_qualifier=st.sampled_from(Qualifier.values),
    records=st.integers(min_value=0, max_value=100_000),
    nested=st.integers(min_value=0, max_value=100),
    overlapping=st.integers(min_value=0, max_value=3),
    parts=st.lists(parts, max_size=2).map(tuple),
    key=st.one_of(st.none(), st.just(""), texts, st.integers(min_value=1990, max_value=2030)),
    label=st.one_of(st.just(""), texts),
    recipients=st.lists(st.tuples(texts, texts), max_size=3).map(tuple),
)


def _by_fields(monkeypatch, data) -> bytes:
    """The JSON the serializers' fields give, one by one (DRF's ``to_representation``)."""
    with monkeypatch.context() as patch:
        for serializer in (FundingTotalSerializer, FundingPartSerializer):
            patch.setattr(serializer, "to_representation", ApiConventionsMixin.to_representation)
        return DecimalJSONRenderer().render(FundingTotalsSerializer(data).data)


@settings(max_examples=200, deadline=None)
@given(listed=st.lists(totals, max_size=4))
def test_a_totals_object_is_its_fields(listed):
    data = {"group_by": "country", "totals": listed, "groups": listed, "total": listed[0] if listed else None}
    fast = DecimalJSONRenderer().render(FundingTotalsSerializer(data).data)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert fast == _by_fields(monkeypatch, data)


def test_the_fast_object_is_used():
    total = FundingTotal(
        measure="pledged",
        donor="eu",
        lower=Decimal("1.005"),
        upper=Decimal("2"),
        lower_qualifier="exact",
        upper_qualifier="more_than",
        records=2,
        overlapping=1,
        parts=(FundingPart(donor="european_commission", amount=Decimal("1"), qualifier="about", records=1),),
    )
    calls = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(
            ApiConventionsMixin,
            "to_representation",
            lambda self, instance: calls.append(instance) or {},
        )
        data = FundingTotalSerializer(total).data
    assert calls == []  # neither the total nor its part went through the fields
    assert data["parts"][0]["amount_display"] == data["parts"][0]["display"]
    assert data["is_range"] is True and data["lower"] == Decimal("1.00")


@pytest.mark.django_db
def test_totals_answers_are_the_fields(api, dataset, monkeypatch):
    for group_by in ("", "region", "country", "theme", "instrument", "year"):
        for fmt in ("json", "csv"):
            params = {"group_by": group_by, "format": fmt} if group_by else {"format": fmt}
            fast = api.get(f"{API}/funding/totals/", params)
            assert fast.status_code == 200
            with monkeypatch.context() as patch:
                for serializer in (FundingTotalSerializer, FundingPartSerializer):
                    patch.setattr(serializer, "to_representation", ApiConventionsMixin.to_representation)
                slow = api.get(f"{API}/funding/totals/", params)
            assert fast.content == slow.content, params
            assert b"pledged" in fast.content
