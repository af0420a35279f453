"""Pledges followed through: fulfilment links, their rules, and the figures they give
(funding.models.Fulfilment, funding.selectors.follow_through)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from funding.models import Fulfilment, FundingRecord
from funding.selectors import follow_through
from migrationsupport.models import Status
from tests.factories import FulfilmentFactory, FundingRecordFactory, PledgingConferenceFactory

pytestmark = pytest.mark.django_db

EUR = Decimal


def record(measure: str, amount: str | None = "100", **kwargs):
    return FundingRecordFactory(measure=measure, amount=EUR(amount) if amount else None, **kwargs)


def link(fulfilled, fulfilling, **kwargs):
    return FulfilmentFactory(fulfilled=fulfilled, fulfilling=fulfilling, **kwargs)


def follow(*records):
    return follow_through(records=FundingRecord.objects.filter(pk__in=[r.pk for r in records]))


def stage(result, measure):
    found = result.stage(measure)
    assert found is not None, f"no {measure} stage"
    return found


# --- The rules of a link -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fulfilled", "fulfilling"),
    [("pledged", "committed"), ("pledged", "contracted"), ("pledged", "paid"), ("committed", "paid")],
)
def test_a_later_stage_may_fulfil_an_earlier_one(fulfilled, fulfilling):
    Fulfilment(fulfilled=record(fulfilled), fulfilling=record(fulfilling)).full_clean()


@pytest.mark.parametrize(
    ("fulfilled", "fulfilling", "field"),
    [
        ("committed", "pledged", "fulfilling"),  # a pledge fulfils nothing
        ("committed", "committed", "fulfilled"),  # a commitment fulfils a pledge only
        ("paid", "paid", "fulfilled"),
        ("mobilised", "committed", "fulfilled"),
        ("pledged", "mobilised", "fulfilling"),
    ],
)
def test_other_pairs_are_refused_beside_the_field(fulfilled, fulfilling, field):
    with pytest.raises(ValidationError) as error:
        Fulfilment(fulfilled=record(fulfilled), fulfilling=record(fulfilling)).full_clean()
    assert field in error.value.message_dict


def test_the_follow_up_comes_from_the_same_donor_or_a_narrower_one():
    pledge = record("pledged", donor="eu")
    Fulfilment(fulfilled=pledge, fulfilling=record("committed", donor="european_commission")).full_clean()
    with pytest.raises(ValidationError) as error:
        Fulfilment(
            fulfilled=pledge, fulfilling=record("committed", donor="eu_and_member_states")
        ).full_clean()
    assert "wider donor" in str(error.value)


def test_a_figure_never_fulfils_itself_nor_twice_the_same():
    pledge = record("pledged")
    with pytest.raises(ValidationError):
        Fulfilment(fulfilled=pledge, fulfilling=pledge).full_clean()
    with transaction.atomic(), pytest.raises(IntegrityError):
        Fulfilment.objects.create(fulfilled=pledge, fulfilling=pledge)
    commitment = record("committed")
    link(pledge, commitment)
    with transaction.atomic(), pytest.raises(IntegrityError):
        Fulfilment.objects.create(fulfilled=pledge, fulfilling=commitment)


def test_links_can_never_form_a_cycle():
    """Every allowed link points from a later stage to an earlier one, so no chain comes back."""
    pledge, commitment, payment = record("pledged"), record("committed"), record("paid")
    link(pledge, commitment)
    link(commitment, payment)
    for fulfilled, fulfilling in ((payment, pledge), (commitment, pledge), (payment, commitment)):
        with pytest.raises(ValidationError):
            Fulfilment(fulfilled=fulfilled, fulfilling=fulfilling).full_clean()


def test_a_linked_record_cannot_change_its_measure_or_donor_out_of_its_links():
    pledge, commitment = record("pledged", donor="eu"), record("committed", donor="eu")
    link(pledge, commitment)
    pledge.measure = "committed"
    with pytest.raises(ValidationError) as error:
        pledge.full_clean()
    assert "fulfilment links" in str(error.value)
    pledge.measure = "pledged"
    commitment.donor = "eu_and_member_states"
    with pytest.raises(ValidationError):
        commitment.full_clean()
    commitment.donor = "european_commission"
    commitment.full_clean()


def test_links_keep_a_history():
    fulfilment = link(record("pledged"), record("committed"))
    fulfilment.source_passage = "The decision implements the pledge."
    fulfilment.save()
    assert [h.history_type for h in fulfilment.history.order_by("history_id")] == ["+", "~"]


# --- The figures -------------------------------------------------------------------------


def test_without_links_nothing_is_reported_not_zero():
    pledge = record("pledged", "600")
    result = follow(pledge)
    assert result.reported is False
    assert result.stages == ()
    assert [t.lower for t in result.promised] == [EUR("600")]


def test_pledged_committed_and_paid_each_counted_once_per_measure():
    pledge = record("pledged", "1000", donor="eu")
    commitment = record("committed", "600", donor="eu")
    payment = record("paid", "250", donor="eu")
    link(pledge, commitment)
    link(commitment, payment)
    link(pledge, payment)  # the same payment, also reported against the pledge itself
    result = follow(pledge)
    assert result.reported
    committed, paid = stage(result, "committed"), stage(result, "paid")
    assert [(t.lower, t.records) for t in committed.totals] == [(EUR("600"), 1)]
    assert [(t.lower, t.records) for t in paid.totals] == [(EUR("250"), 1)]
    assert committed.share.display == "60\u00a0%" and committed.share.qualifier == "exact"
    assert paid.share.display == "25\u00a0%"
    assert result.stage("contracted") is None


def test_a_part_is_never_added_again_inside_its_whole():
    pledge = record("pledged", "1000")
    whole = record("committed", "500")
    part = record("committed", "200", parent=whole)
    link(pledge, whole)
    link(pledge, part)
    paid_part = record("paid", "50")
    link(part, paid_part)  # paid against the part: paid against the pledge too
    result = follow(pledge)
    assert [(t.lower, t.records, t.nested) for t in stage(result, "committed").totals] == [(EUR("500"), 1, 1)]
    assert [t.lower for t in stage(result, "paid").totals] == [EUR("50")]


def test_what_fulfils_a_part_of_a_pledge_fulfils_the_pledge():
    pledge = record("pledged", "6000", donor="eu_and_member_states", qualifier="almost")
    commission = record("pledged", "2120", donor="european_commission", parent=pledge)
    link(commission, record("committed", "1000", donor="european_commission"))
    result = follow(pledge)
    (committed,) = stage(result, "committed").totals
    assert committed.lower == EUR("1000")
    # The Commission's commitments against the Team Europe pledge: different donor scopes.
    assert stage(result, "committed").share is None
    assert "European Commission" in stage(result, "committed").share_note


def test_the_share_says_how_exact_it_is():
    almost = record("pledged", "6000", qualifier="almost")
    link(almost, record("committed", "3000"))
    share = stage(follow(almost), "committed").share
    assert (share.percent, share.qualifier) == (EUR(50), "more_than")
    assert share.display == "more than 50\u00a0%"

    exact = record("pledged", "300")
    link(exact, record("committed", "100", qualifier="about"))
    assert stage(follow(exact), "committed").share.qualifier == "about"

    rounded = record("pledged", "300")
    link(rounded, record("committed", "100"))
    assert stage(follow(rounded), "committed").share.display == "about 33\u00a0%"

    # A bound is rounded away from its claim: 39.6 % is "more than 39 %", never "more than 40 %".
    floor = record("pledged", "1000", qualifier="almost")
    link(floor, record("committed", "396"))
    assert stage(follow(floor), "committed").share.display == "more than 39\u00a0%"
    ceiling = record("pledged", "1000")
    link(ceiling, record("committed", "394", qualifier="almost"))
    assert stage(follow(ceiling), "committed").share.display == "almost 40\u00a0%"


def test_no_share_for_follow_up_shared_with_another_pledge():
    one, other = record("pledged", "100"), record("pledged", "100")
    commitment = record("committed", "80")
    link(one, commitment)
    link(other, commitment)
    result = follow(one)
    assert result.shared
    assert stage(result, "committed").share is None
    # Both together: nothing outside the set, the commitment counted once.
    together = follow(one, other)
    assert not together.shared
    assert [t.lower for t in stage(together, "committed").totals] == [EUR("80")]


def test_a_follow_up_shared_only_with_a_draft_pledge_is_not_shared():
    """A draft is not public: a commitment that also fulfils a draft pledge is, on the public
    pages, the follow-up of the published pledge alone, and its share is shown."""
    one, draft = record("pledged", "100"), record("pledged", "100", status=Status.DRAFT)
    commitment = record("committed", "80")
    link(one, commitment)
    link(draft, commitment)
    result = follow(one)
    assert not result.shared
    assert stage(result, "committed").share is not None


def test_drafts_are_not_followed():
    pledge = record("pledged", "100")
    link(pledge, record("committed", "40"), status=Status.DRAFT)
    link(pledge, record("committed", "30", status=Status.DRAFT))
    assert follow(pledge).reported is False
    link(pledge, record("committed", "20"))
    assert [t.lower for t in stage(follow(pledge), "committed").totals] == [EUR("20")]


def test_as_of_dates_and_sources():
    conference = PledgingConferenceFactory(date=datetime.date(2024, 5, 27), date_precision="day")
    pledge = record("pledged", "100", conference=conference)
    early = record("committed", "10", period_start=datetime.date(2024, 6, 1), period_start_precision="month")
    late = record(
        "committed",
        "10",
        period_start=datetime.date(2025, 1, 1),
        period_start_precision="year",
        period_end=datetime.date(2025, 1, 1),
        period_end_precision="year",
    )
    link(pledge, early)
    fulfilment = link(pledge, late)
    result = follow(pledge)
    assert str(result.promised_as_of) == "27 May 2024"
    assert str(stage(result, "committed").as_of) == "2025"
    titles = {s.title for s in result.sources}
    assert {early.source.title, late.source.title, fulfilment.source.title} <= titles
    assert pledge.source.title not in titles


# --- Pledges an officer must chase -------------------------------------------------------


def test_a_month_only_pledge_is_overdue_twelve_months_after_its_month_ends():
    conference = PledgingConferenceFactory(date=datetime.date(2024, 3, 1), date_precision="month")
    pledge = record("pledged", conference=conference)
    overdue = FundingRecord.objects.filter(pk=pledge.pk).pledges_without_follow_up
    assert not overdue(today=datetime.date(2025, 3, 31)).exists()
    assert overdue(today=datetime.date(2025, 4, 1)).exists()


def test_a_pledge_with_published_follow_up_is_not_overdue():
    pledge = record("pledged", period_start=datetime.date(2020, 3, 15), period_start_precision="day")
    undated = record("pledged")
    qs = FundingRecord.objects.filter(pk__in=[pledge.pk, undated.pk])
    today = datetime.date(2021, 3, 16)
    assert list(qs.pledges_without_follow_up(today=today)) == [pledge]  # undated: nothing says
    draft = link(pledge, record("committed"), status=Status.DRAFT)
    assert list(qs.pledges_without_follow_up(today=today)) == [pledge]
    draft.status = Status.PUBLISHED
    draft.save()
    assert not qs.pledges_without_follow_up(today=today).exists()
