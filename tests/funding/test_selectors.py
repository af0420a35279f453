import dataclasses
import datetime
from decimal import Decimal
from itertools import combinations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funding import rollup
from funding.filters import FundingFilter
from funding.models import DONOR_BREADTH, FundingRecord
from funding.selectors import (
    SEVERAL_YEARS,
    FundingPart,
    FundingTotal,
    _each_record_once,
    combined_total,
    computed_rows,
    funding_totals,
    funding_totals_and_groups,
    independent_figures,
    total_qualifier,
)
from tests.factories import (
    FUNDING_FILTER_VALUES,
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    RegionFactory,
    funding_matching_every_filter,
)

pytestmark = pytest.mark.django_db

M = Decimal(1_000_000)
Y2024 = {"period_start": datetime.date(2024, 1, 1), "period_start_precision": "year"}


def only(totals):
    assert len(totals) == 1, totals
    return totals[0]


def by_label(totals):
    return {t.label: t.upper for t in totals}


@pytest.fixture
def western_balkans_tree():
    """The seed's nesting: €350m since 2021 ⊃ €60m package ⊃ €47m + €13m."""
    region = RegionFactory(name="Western Balkans")
    total = FundingRecordFactory(amount=350 * M, qualifier="more_than", regions=[region])
    package = FundingRecordFactory(amount=60 * M, parent=total, regions=[region])
    FundingRecordFactory(amount=47 * M, parent=package, regions=[region])
    FundingRecordFactory(amount=13 * M, parent=package, regions=[region])
    return region, total, package


def test_total_never_counts_a_child_inside_its_parent(western_balkans_tree):
    result = only(funding_totals(records=FundingRecord.objects.all()))
    assert (result.lower, result.upper, result.lower_qualifier) == (350 * M, 350 * M, "more_than")
    assert result.display == "more than €350\u00a0million"


def test_children_count_when_their_parent_is_filtered_out(western_balkans_tree):
    _, total, package = western_balkans_tree
    children = FundingRecord.objects.filter(parent=package)
    assert only(funding_totals(records=children)).upper == 60 * M
    assert only(funding_totals(records=children)).upper_qualifier == "exact"
    # The package and its parts, without the €350m: the package counts, the parts are inside it.
    assert only(funding_totals(records=FundingRecord.objects.exclude(pk=total.pk))).upper == 60 * M


def test_grandchild_is_not_counted_when_only_the_grandparent_is_in_the_set(western_balkans_tree):
    _, _, package = western_balkans_tree
    records = FundingRecord.objects.exclude(pk=package.pk)
    assert only(funding_totals(records=records)).upper == 350 * M


def test_a_whole_without_an_amount_hides_none_of_its_parts():
    programme = FundingRecordFactory(amount=None)
    FundingRecordFactory(amount=5 * M, parent=programme)
    assert only(funding_totals(records=FundingRecord.objects.all())).upper == 5 * M


def test_measures_and_donors_are_never_added_together():
    FundingRecordFactory(
        amount=33000 * M, qualifier="more_than", measure="mobilised", donor="eu_and_member_states"
    )
    pledge = FundingRecordFactory(
        amount=6000 * M, qualifier="almost", measure="pledged", donor="eu_and_member_states"
    )
    FundingRecordFactory(amount=2120 * M, measure="pledged", donor="european_commission", parent=pledge)
    FundingRecordFactory(amount=900 * M, qualifier="about", measure="committed", donor="eu")

    totals = funding_totals(records=FundingRecord.objects.all())

    assert [(t.measure, t.donor, t.upper) for t in totals] == [
        ("mobilised", "eu_and_member_states", 33000 * M),
        ("pledged", "eu_and_member_states", 6000 * M),
        ("committed", "eu", 900 * M),
    ]
    pledged = totals[1]
    assert pledged.heading == "Pledged by the EU and its Member States"
    assert [(p.donor, p.amount) for p in pledged.parts] == [("european_commission", 2120 * M)]
    # The Commission's pledge is inside the EU and Member States' one: no total of its own.
    assert pledged.nested == 1


def test_figures_that_may_overlap_give_a_range(western_balkans_tree):
    _, total, _ = western_balkans_tree
    FundingRecordFactory(amount=36 * M, may_overlap=[total])

    result = only(funding_totals(records=FundingRecord.objects.all()))

    assert (result.lower, result.upper) == (350 * M, 386 * M)
    assert (result.lower_qualifier, result.upper_qualifier) == ("more_than", "more_than")
    assert (result.is_range, result.overlapping, result.records) == (True, 1, 2)
    assert result.display == (
        "more than €350\u00a0million; up to more than €386\u00a0million if the figures that may overlap "
        "are all separate"
    )


def test_an_overlap_mark_on_a_part_counts_against_its_counted_whole(western_balkans_tree):
    _, _, package = western_balkans_tree
    other = FundingRecordFactory(amount=100 * M, may_overlap=[package])
    result = only(funding_totals(records=FundingRecord.objects.all()))
    # The package is inside the €350m: the €100m may overlap the €350m, the larger, which stays.
    assert (result.lower, result.upper) == (350 * M, 450 * M)
    # Without the €350m, the mark is between the package and the €100m.
    result = only(funding_totals(records=FundingRecord.objects.exclude(parent__isnull=True, amount=350 * M)))
    assert (result.lower, result.upper) == (100 * M, 160 * M)
    assert other.pk


def test_a_figure_for_several_countries_is_one_shared_row():
    countries = [CountryFactory(name=name) for name in ("Serbia", "Montenegro", "Bosnia")]
    FundingRecordFactory(amount=60 * M, countries=countries)
    FundingRecordFactory(amount=5 * M, countries=countries[:1])
    FundingRecordFactory(amount=7 * M)
    records = FundingRecord.objects.filter(countries__in=countries)  # a join that repeats rows
    assert records.count() == 4

    rows = funding_totals(records=FundingRecord.objects.all(), group_by="country")

    assert by_label(rows) == {
        "Shared by Bosnia, Montenegro and Serbia": 60 * M,
        "Serbia": 5 * M,
        "No country stated": 7 * M,
    }
    shared = next(r for r in rows if r.label.startswith("Shared"))
    assert [name for _pk, name in shared.recipients] == ["Bosnia", "Montenegro", "Serbia"]
    assert only(funding_totals(records=records)).upper == 65 * M


def test_sets_that_give_each_record_once_are_read_directly_with_the_same_rows():
    """``_members`` reads the set's own query when it gives each record once: every explorer
    filter does, alone or all together (but "top-level only" with "part of": nothing); a join
    that can repeat a record or ``extra()`` tables do not. Either way the rows are those of the
    set read by its distinct ids (``distinct()``)."""
    whole = funding_matching_every_filter(amount=60 * M)
    FundingRecordFactory(amount=80 * M, may_overlap=[whole], regions=whole.regions.all(), donor="eu")
    assert set(FUNDING_FILTER_VALUES) == set(FundingFilter.base_filters)
    published = FundingRecord.objects.published()

    # All together but "top-level only", which no record matches with "part of".
    together = {name: value for name, value in FUNDING_FILTER_VALUES.items() if name != "top_level"}
    for data in [*({name: value} for name, value in FUNDING_FILTER_VALUES.items()), together]:
        filterset = FundingFilter(data=data, queryset=published)
        assert filterset.is_valid(), filterset.errors
        assert _each_record_once(filterset.qs), data
        for group_by in (None, "region", "country"):
            direct = computed_rows(filterset.qs, group_by)
            assert direct, data  # every filter matches some record
            assert _sorted(direct) == _sorted(computed_rows(filterset.qs.distinct(), group_by)), data
    assert not _each_record_once(published.distinct())
    assert not _each_record_once(FundingRecord.objects.filter(countries__iso_code="TR"))
    assert not _each_record_once(FundingRecord.objects.extra(tables=["regions_region"]))


def _sorted(rows: list[dict]) -> list:
    return sorted((sorted(row.items()) for row in rows), key=repr)


def test_a_draft_region_is_never_named_and_its_records_still_add_up():
    published, draft = RegionFactory(name="North"), RegionFactory(name="Secret", status="draft")
    FundingRecordFactory(amount=10 * M, regions=[published, draft])
    FundingRecordFactory(amount=3 * M, regions=[draft])
    public = funding_totals(records=FundingRecord.objects.all(), group_by="region")
    assert by_label(public) == {"North": 10 * M, "No region stated": 3 * M}
    staff = funding_totals(records=FundingRecord.objects.all(), group_by="region", include_drafts=True)
    assert by_label(staff) == {"Shared by North and Secret": 10 * M, "Secret": 3 * M}


def test_grouping_by_region_never_counts_a_part_outside_its_whole():
    north, east = RegionFactory(name="North"), RegionFactory(name="East")
    parent = FundingRecordFactory(amount=20 * M, regions=[north])
    FundingRecordFactory(amount=8 * M, parent=parent, regions=[east])
    rows = funding_totals(records=FundingRecord.objects.all(), group_by="region")
    assert by_label(rows) == {"North": 20 * M}
    assert only(rows).nested == 1


def test_a_part_takes_its_wholes_instrument():
    ipa = InstrumentFactory(short_name="IPA III")
    whole = FundingRecordFactory(amount=350 * M, instrument=ipa)
    FundingRecordFactory(amount=60 * M, parent=whole)  # states no instrument
    FundingRecordFactory(amount=36 * M)
    parts = FundingRecord.objects.exclude(pk=whole.pk)
    assert by_label(funding_totals(records=parts, group_by="instrument")) == {
        "IPA III": 60 * M,
        "No instrument stated": 36 * M,
    }
    assert by_label(funding_totals(records=FundingRecord.objects.all(), group_by="instrument")) == {
        "IPA III": 350 * M,
        "No instrument stated": 36 * M,
    }


def test_a_part_does_not_take_the_instrument_of_a_draft_whole():
    whole = FundingRecordFactory(
        amount=350 * M, instrument=InstrumentFactory(short_name="IPA III"), status="draft"
    )
    FundingRecordFactory(amount=60 * M, parent=whole)
    totals = funding_totals(records=FundingRecord.objects.published(), group_by="instrument")
    assert by_label(totals) == {"No instrument stated": 60 * M}


def test_a_figure_belongs_to_a_year_only_if_its_period_lies_within_it():
    FundingRecordFactory(
        amount=33000 * M, period_start=datetime.date(2011, 1, 1), period_start_precision="year"
    )
    FundingRecordFactory(
        amount=2120 * M,
        **Y2024,
        period_end=datetime.date(2025, 1, 1),
        period_end_precision="year",
    )
    FundingRecordFactory(
        amount=60 * M, **Y2024, period_end=datetime.date(2024, 1, 1), period_end_precision="year"
    )
    FundingRecordFactory(
        amount=36 * M,
        period_start=datetime.date(2023, 6, 1),
        period_start_precision="month",
        period_end=datetime.date(2023, 6, 1),
        period_end_precision="month",
    )
    FundingRecordFactory(amount=900 * M)

    rows = funding_totals(records=FundingRecord.objects.all(), group_by="year")

    assert by_label(rows) == {
        "2024": 60 * M,
        "2023": 36 * M,
        "Several years or ongoing": 35120 * M,
        "No period stated": 900 * M,
    }
    assert {r.key for r in rows} == {"2024", "2023", SEVERAL_YEARS, ""}


def test_mixed_qualifiers_make_an_about_total():
    FundingRecordFactory(amount=6000 * M, qualifier="almost")
    FundingRecordFactory(amount=33000 * M, qualifier="more_than")
    assert only(funding_totals(records=FundingRecord.objects.all())).upper_qualifier == "about"


def test_records_without_a_figure_are_not_counted():
    FundingRecordFactory(amount=None)
    FundingRecordFactory(amount=5 * M)
    result = only(funding_totals(records=FundingRecord.objects.all()))
    assert (result.upper, result.records) == (5 * M, 1)


def test_a_set_without_amounts_has_no_total_not_a_zero():
    FundingRecordFactory(amount=None)
    assert funding_totals(records=FundingRecord.objects.all()) == []
    assert funding_totals(records=FundingRecord.objects.none()) == []
    assert funding_totals(records=FundingRecord.objects.none(), group_by="year") == []


def test_totals_take_one_query(western_balkans_tree, django_assert_num_queries):
    # A subset is computed: one query.
    with django_assert_num_queries(1):
        funding_totals(records=FundingRecord.objects.published().filter(donor="eu"))
    # Every published record: its stored totals (funding.rollup) once current, else computed,
    # in one query either way.
    with django_assert_num_queries(1):
        funding_totals(records=FundingRecord.objects.published())
    rollup.rebuild()
    with django_assert_num_queries(1):
        funding_totals(records=FundingRecord.objects.published())
    # The grouped total: the aggregate, then the region names.
    with django_assert_num_queries(2):
        funding_totals(records=FundingRecord.objects.published(), group_by="region")


def test_total_counts_the_parts_it_leaves_out(western_balkans_tree):
    FundingRecordFactory(amount=None)  # no figure: neither counted nor left out
    result = only(funding_totals(records=FundingRecord.objects.all()))
    # The €350m counts; the €60m package and its €47m and €13m parts are inside it.
    assert (result.records, result.nested) == (1, 3)
    by_region = funding_totals(records=FundingRecord.objects.all(), group_by="region")
    assert [(t.upper, t.records, t.nested) for t in by_region] == [(350 * M, 1, 3)]


def test_the_lower_bound_keeps_the_heaviest_figures_that_cannot_overlap():
    # A may overlap B, B may overlap C, A and C are separate: the lower bound keeps A and C.
    amounts = {1: Decimal(100), 2: Decimal(150), 3: Decimal(60)}
    assert independent_figures(amounts, {frozenset((1, 2)), frozenset((2, 3))}) == {1, 3}
    amounts[2] = Decimal(200)
    assert independent_figures(amounts, {frozenset((1, 2)), frozenset((2, 3))}) == {2}


# --- Property: the totals equal a slow reference computation on random sets ----------------------

# Mostly one measure and donor, so that nesting and overlap marks meet in the same total.
MEASURES = ("committed", "committed", "committed", "pledged")
DONORS = ("eu", "eu", "eu", "european_commission")


def reference_totals(records: list[dict], overlaps: set[frozenset[int]], group_of) -> dict:
    """Straight from the rules, record by record: a record counts unless an ancestor is in the set;
    lower keeps the heaviest set of counted records no two of which may overlap (through their
    counted wholes), found by trying every subset."""
    by_id = {r["id"]: r for r in records}

    def ancestors(record):
        node = record["parent"]
        while node is not None:
            yield node
            node = by_id[node]["parent"] if node in by_id else None

    def rep(record):
        top = record["id"]
        for ancestor in ancestors(record):
            if ancestor in by_id and by_id[ancestor]["amount"] is not None:
                top = ancestor
        return top

    counted = [r for r in records if r["amount"] is not None and rep(r) == r["id"]]
    pairs = set()
    for mark in overlaps:
        one, other = tuple(mark)
        if (
            one in by_id
            and other in by_id
            and by_id[one]["amount"] is not None
            and by_id[other]["amount"] is not None
        ):
            a, b = rep(by_id[one]), rep(by_id[other])
            if a != b and (by_id[a]["measure"], by_id[a]["donor"]) == (
                by_id[b]["measure"],
                by_id[b]["donor"],
            ):
                pairs.add(frozenset((a, b)))
    totals: dict = {}
    for key in {(group_of(r), r["measure"], r["donor"]) for r in counted}:
        totals[key] = {
            "upper": sum(r["amount"] for r in counted if (group_of(r), r["measure"], r["donor"]) == key)
        }
    # The heaviest independent set over all counted records (ties: lower ids).
    ids = sorted(r["id"] for r in counted)
    best: tuple[Decimal, tuple[int, ...]] = (Decimal(-1), ())
    for size in range(len(ids), -1, -1):
        for subset in combinations(ids, size):
            if any(frozenset(p) in pairs for p in combinations(subset, 2)):
                continue
            weight = sum((by_id[i]["amount"] for i in subset), Decimal(0))
            if weight > best[0] or (weight == best[0] and subset < best[1]):
                best = (weight, subset)
    for key in totals:
        totals[key]["lower"] = sum(
            (
                by_id[i]["amount"]
                for i in best[1]
                if (group_of(by_id[i]), by_id[i]["measure"], by_id[i]["donor"]) == key
            ),
            Decimal(0),
        )
    return totals


@st.composite
def funding_sets(draw):
    size = draw(st.integers(min_value=1, max_value=7))
    records, depth = [], []
    for index in range(size):
        # At most three wholes above a record, as the model allows.
        wholes = [i for i in range(index) if depth[i] < 3]
        parent = draw(st.one_of(st.none(), st.sampled_from(wholes))) if wholes else None
        depth.append(0 if parent is None else depth[parent] + 1)
        records.append(
            {
                "index": index,
                "parent": parent,
                "amount": draw(st.sampled_from([None, *range(1, 50, 3)])),
                "qualifier": draw(st.sampled_from(["exact", "more_than", "almost", "about"])),
                "measure": draw(st.sampled_from(MEASURES)) if parent is None else None,
                "donor": draw(st.sampled_from(DONORS)),
                "regions": draw(st.sets(st.integers(min_value=0, max_value=2), max_size=2)),
                "in_set": draw(st.booleans()) or index == 0,
            }
        )
    overlaps = draw(st.sets(st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)), max_size=6))
    return records, {frozenset(o) for o in overlaps if o[0] != o[1]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=funding_sets())
def test_totals_match_the_reference_on_random_nested_shared_and_overlapping_sets(data):
    with transaction.atomic():  # each example starts from an empty table
        check_against_reference(*data)
        transaction.set_rollback(True)


def narrower(donor: str, whole) -> bool:
    """Whether a record may give ``donor`` as its own: any without a whole, else its whole's
    donor or a narrower one."""
    return whole is None or DONOR_BREADTH[donor] <= DONOR_BREADTH[whole.donor]


def check_against_reference(records, overlaps):
    regions = [RegionFactory(name=f"Region {i}") for i in range(3)]
    created = []
    for spec in records:
        parent = created[spec["parent"]] if spec["parent"] is not None else None
        created.append(
            FundingRecordFactory(
                amount=None if spec["amount"] is None else spec["amount"] * M,
                qualifier=spec["qualifier"] if spec["amount"] is not None else "exact",
                measure=parent.measure if parent else spec["measure"],
                # A part's donor is its whole's or a narrower one: its money is then a part
                # ("of which … by the Commission") of the whole's total.
                donor=spec["donor"] if narrower(spec["donor"], parent) else parent.donor,
                parent=parent,
                regions=[regions[i] for i in spec["regions"]],
            )
        )
    for one, other in (tuple(mark) for mark in overlaps):
        created[one].may_overlap.add(created[other])
    in_set = [c for c, spec in zip(created, records, strict=True) if spec["in_set"]]
    queryset = FundingRecord.objects.filter(pk__in=[c.pk for c in in_set])
    rows = [
        {
            "id": c.pk,
            "parent": c.parent_id,
            "amount": c.amount,
            "measure": c.measure,
            "donor": c.donor,
            "regions": ",".join(str(r.pk) for r in sorted(c.regions.all(), key=lambda r: r.pk)),
        }
        for c in in_set
    ]
    # Ancestors outside the set still link their parts to each other.
    outside = {c.pk: c.parent_id for c in created if c not in in_set}
    for row in rows:
        node = row["parent"]
        while node in outside:
            node = outside[node]
        row["parent"] = node
    marks = {frozenset((created[a].pk, created[b].pk)) for a, b in (tuple(m) for m in overlaps)}

    for group_by, group_of in ((None, lambda r: None), ("region", lambda r: r["regions"])):
        expected = reference_totals(rows, marks, group_of)
        got = funding_totals(records=queryset, group_by=group_by)
        assert {(t.key, t.measure, t.donor): (t.lower, t.upper) for t in got} == {
            key: (value["lower"], value["upper"]) for key, value in expected.items()
        }
        # The groups of each measure and donor add up exactly to its overall total.
        if group_by:
            assert funding_totals_and_groups(records=queryset, group_by=group_by) == (
                funding_totals(records=queryset),
                got,
            )
            overall = {(t.measure, t.donor): (t.lower, t.upper) for t in funding_totals(records=queryset)}
            summed: dict = {}
            for t in got:
                lower, upper = summed.get((t.measure, t.donor), (0, 0))
                summed[(t.measure, t.donor)] = (lower + t.lower, upper + t.upper)
            assert summed == overall
            # Added up as one row (the explorer's "others together"), all the groups of a measure
            # and donor are its overall total: bounds, qualifiers, counts.
            for total in funding_totals(records=queryset):
                groups = [t for t in got if (t.measure, t.donor) == (total.measure, total.donor)]
                assert combined_total(groups, label="all") == dataclasses.replace(total, label="all")


def _total(upper, qualifier="exact", *, lower=None, lower_qualifier=None, parts=(), **counts):
    return FundingTotal(
        measure="committed",
        donor="eu",
        lower=upper if lower is None else lower,
        upper=upper,
        lower_qualifier=lower_qualifier or qualifier,
        upper_qualifier=qualifier,
        records=counts.get("records", 1),
        nested=counts.get("nested", 0),
        overlapping=counts.get("overlapping", 0),
        parts=parts,
        key=counts.get("key", "1"),
        label=counts.get("label", "A region"),
    )


def test_groups_added_up_as_one_row_keep_the_rules_of_a_sum():
    commission = "european_commission"
    groups = [
        _total(100 * M, "more_than", parts=(FundingPart(commission, 10 * M, "exact", 1),), nested=1),
        _total(50 * M, "almost", lower=20 * M, lower_qualifier="exact", overlapping=1, records=2),
        _total(7 * M, parts=(FundingPart(commission, 5 * M, "more_than", 2),), nested=2, key=None),
    ]
    tied = (FundingPart(commission, 3 * M, "exact", 1), FundingPart("eu", 3 * M, "about", 1))
    wide = [_total(9 * M, parts=tied), _total(2 * M, parts=(FundingPart(commission, M, "more_than", 1),))]
    wide = [dataclasses.replace(total, donor="eu_and_member_states") for total in wide]

    row = combined_total(groups, label="3 others together")

    assert (row.lower, row.upper) == (127 * M, 157 * M)
    # More than plus almost is about; the lower bound left out the "almost" figure.
    assert (row.upper_qualifier, row.lower_qualifier) == ("about", "more_than")
    assert (row.records, row.nested, row.overlapping, row.is_range) == (4, 3, 1, True)
    assert row.parts == (FundingPart(commission, 15 * M, "more_than", 3),)
    assert (row.key, row.label, row.recipients) == (None, "3 others together", ())
    assert combined_total(groups[2:], label="x").upper_qualifier == "exact"
    # Parts of several donors: the largest first, equal amounts by donor scope, broadest first.
    assert combined_total(wide[:1], label="x").parts == (
        FundingPart("eu", 3 * M, "about", 1),
        FundingPart(commission, 3 * M, "exact", 1),
    )
    assert combined_total(wide, label="x").parts == (
        FundingPart(commission, 4 * M, "more_than", 2),
        FundingPart("eu", 3 * M, "about", 1),
    )
    for other in ({"donor": "eu_and_member_states"}, {"measure": "paid"}):
        with pytest.raises(ValueError, match="one measure and donor"):
            combined_total([groups[0], dataclasses.replace(groups[1], **other)], label="x")


def test_total_qualifier_rules():
    assert total_qualifier(more_than=1, almost=0, about=0) == "more_than"
    assert total_qualifier(more_than=0, almost=2, about=0) == "almost"
    assert total_qualifier(more_than=1, almost=1, about=0) == "about"
    assert total_qualifier(more_than=0, almost=0, about=0) == "exact"


def test_an_overlap_mark_on_a_grandchild_counts_against_the_top_most_counted_whole(western_balkans_tree):
    _, total, package = western_balkans_tree
    grandchild = package.children.order_by("amount").first()
    FundingRecordFactory(amount=500 * M, may_overlap=[grandchild])
    result = only(funding_totals(records=FundingRecord.objects.all()))
    # The €500m may overlap the €350m (which holds the €13m): the lower bound keeps the €500m.
    assert (result.lower, result.upper, result.overlapping) == (500 * M, 850 * M, 1)
    assert total.pk
