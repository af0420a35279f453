import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from funding.api import FundingRecordViewSet
from funding.models import RESERVED_SLUGS, FundingRecord
from tests.factories import FundingRecordFactory

pytestmark = pytest.mark.django_db


def test_negative_amount_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        FundingRecordFactory(amount=Decimal("-1"))


def test_period_end_before_start_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        FundingRecordFactory(
            period_start=datetime.date(2025, 1, 1),
            period_start_precision="year",
            period_end=datetime.date(2024, 1, 1),
            period_end_precision="year",
        )


def test_month_precision_date_must_be_first_of_month_in_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        FundingRecordFactory(period_start=datetime.date(2016, 3, 15), period_start_precision="month")


def test_wording_must_fit_qualifier_in_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        FundingRecordFactory(qualifier="more_than", wording="close to")


def test_slug_is_unique():
    FundingRecordFactory(slug="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        FundingRecordFactory(slug="same")


def test_slugs_of_the_apis_own_addresses_are_refused():
    """/api/v1/funding/totals/ is the totals: a record with that slug could not be read there."""
    own = {action.url_path for action in FundingRecordViewSet.get_extra_actions() if not action.detail}
    assert own and own <= set(RESERVED_SLUGS)
    record = FundingRecordFactory.build(slug="totals", source=FundingRecordFactory().source)
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()
    assert "slug" in excinfo.value.message_dict
    record.slug = "totals-2024"
    record.full_clean()


def test_clean_explains_negative_amount_and_period_beside_the_fields():
    record = FundingRecordFactory.build(
        amount=Decimal("-5"),
        period_start=datetime.date(2025, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2024, 1, 1),
        period_end_precision="year",
        source=FundingRecordFactory().source,
    )
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()
    assert set(excinfo.value.message_dict) >= {"amount", "period_end"}


def test_clean_asks_for_the_first_day_when_only_the_month_is_known():
    record = FundingRecordFactory(period_start=datetime.date(2016, 3, 1), period_start_precision="month")
    record.period_start = datetime.date(2016, 3, 15)
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()
    assert "period_start" in excinfo.value.message_dict


def test_clean_asks_for_a_precision_when_a_date_is_given():
    record = FundingRecordFactory()
    record.period_start = datetime.date(2016, 3, 1)
    record.period_start_precision = ""
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean()
    assert "period_start_precision" in excinfo.value.message_dict


def test_children_may_not_add_up_to_more_than_the_parent():
    package = FundingRecordFactory(amount=Decimal(60_000_000))
    FundingRecordFactory(amount=Decimal(47_000_000), parent=package)
    too_much = FundingRecordFactory.build(amount=Decimal(14_000_000), parent=package, source=package.source)
    with pytest.raises(ValidationError) as excinfo:
        too_much.full_clean()
    assert "amount" in excinfo.value.message_dict
    assert FundingRecord.objects.filter(parent=package).count() == 1


def test_children_fitting_in_the_parent_are_valid():
    package = FundingRecordFactory(amount=Decimal(60_000_000))
    FundingRecordFactory(amount=Decimal(47_000_000), parent=package)
    FundingRecordFactory.build(amount=Decimal(13_000_000), parent=package, source=package.source).full_clean()


def test_parent_cannot_shrink_below_its_children():
    package = FundingRecordFactory(amount=Decimal(60_000_000))
    FundingRecordFactory(amount=Decimal(47_000_000), parent=package)
    package.amount = Decimal(40_000_000)
    with pytest.raises(ValidationError):
        package.full_clean()


def test_a_record_cannot_be_its_own_ancestor():
    top = FundingRecordFactory(amount=None)
    child = FundingRecordFactory(amount=None, parent=top)
    top.parent = child
    with pytest.raises(ValidationError) as excinfo:
        top.full_clean()
    assert "parent" in excinfo.value.message_dict


def test_nesting_depth_is_bounded():
    node = FundingRecordFactory(amount=None)
    for _ in range(3):
        node = FundingRecordFactory(amount=None, parent=node)
    too_deep = FundingRecordFactory.build(amount=None, parent=node, source=node.source)
    with pytest.raises(ValidationError):
        too_deep.full_clean()


def test_amount_and_period_display():
    record = FundingRecordFactory(
        amount=Decimal("2120000000"),
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2025, 1, 1),
        period_end_precision="year",
    )
    assert str(record.amount_display) == "€2.12\u00a0billion"
    assert record.period_display == "for 2024 and 2025"


def test_records_start_as_drafts_and_published_hides_them():
    draft = FundingRecord.objects.create(title="Draft", slug="draft", source=FundingRecordFactory().source)
    assert draft.status == "draft"
    assert draft not in FundingRecord.objects.published()


# --- What a figure measures, and nesting that stays consistent ------------------------------------


def errors_of(record: FundingRecord) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        record.full_clean()
    return caught.value.message_dict


def test_an_amount_without_a_measure_is_refused_in_the_database_and_beside_the_field():
    record = FundingRecordFactory.build(measure="", source=FundingRecordFactory().source)
    assert "measure" in errors_of(record)
    with pytest.raises(IntegrityError), transaction.atomic():
        FundingRecordFactory(measure="")
    FundingRecordFactory(amount=None, measure="")  # a programme named without a figure


def test_a_part_takes_its_wholes_measure_when_it_states_none():
    whole = FundingRecordFactory(measure="pledged")
    part = FundingRecordFactory.build(parent=whole, measure="", amount=Decimal(5), source=whole.source)
    part.full_clean()
    part.save()
    part.refresh_from_db()
    assert part.measure == "pledged"
    # Saved without validation (an import, a script): the same.
    assert FundingRecordFactory(parent=whole, measure="", amount=Decimal(1)).measure == "pledged"


def test_a_part_of_another_measure_or_a_wider_donor_is_refused():
    whole = FundingRecordFactory(measure="pledged", donor="eu_and_member_states", amount=Decimal(6000))
    other_measure = FundingRecordFactory.build(
        parent=whole, measure="paid", amount=Decimal(5), source=whole.source
    )
    assert "measure" in errors_of(other_measure)
    narrower = FundingRecordFactory.build(
        parent=whole,
        measure="pledged",
        donor="european_commission",
        amount=Decimal(2120),
        source=whole.source,
    )
    narrower.full_clean()  # the Commission's pledge inside the EU and its Member States' one
    commission = FundingRecordFactory(measure="pledged", donor="european_commission", amount=Decimal(10))
    wider = FundingRecordFactory.build(
        parent=commission, measure="pledged", donor="eu", amount=Decimal(5), source=whole.source
    )
    assert "donor" in errors_of(wider)


def test_a_part_larger_than_an_exact_whole_is_refused_but_a_lower_bound_may_hold_more():
    exact = FundingRecordFactory(amount=Decimal(60))
    assert "amount" in errors_of(
        FundingRecordFactory.build(parent=exact, amount=Decimal(61), source=exact.source)
    )
    lower_bound = FundingRecordFactory(amount=Decimal(350), qualifier="more_than")
    FundingRecordFactory.build(parent=lower_bound, amount=Decimal(400), source=exact.source).full_clean()


def test_possible_overlaps_must_be_of_the_same_measure_and_donor_and_not_nested():
    whole = FundingRecordFactory(amount=Decimal(350), qualifier="more_than")
    part = FundingRecordFactory(amount=Decimal(60), parent=whole)
    grandchild = FundingRecordFactory(amount=Decimal(47), parent=part)
    programme = FundingRecordFactory(amount=Decimal(36))
    programme.clean_may_overlap([whole])  # the seed's €36 million and €350 million

    for others, message in [
        ([programme], "cannot overlap itself"),
        ([FundingRecordFactory(measure="pledged")], "another measure or donor"),
        ([FundingRecordFactory(donor="eu_and_member_states")], "another measure or donor"),
    ]:
        with pytest.raises(ValidationError, match=message):
            programme.clean_may_overlap(others)
    with pytest.raises(ValidationError, match="already its whole or one of its parts"):
        whole.clean_may_overlap([grandchild])
    with pytest.raises(ValidationError, match="already its whole or one of its parts"):
        grandchild.clean_may_overlap([whole])


def test_period_kind_tells_a_moment_from_a_span():
    def kind(**dates):
        return FundingRecordFactory.build(**dates).period_kind

    june_2023 = {"period_start": datetime.date(2023, 6, 1), "period_start_precision": "month"}
    assert kind(**june_2023, period_end=datetime.date(2023, 6, 1), period_end_precision="month") == "point"
    assert kind(**june_2023) == "range"  # since June 2023
    assert kind() == ""
