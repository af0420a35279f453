"""The lists a page about regions shows: the first ones of each region, chosen in the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import F

from agreements.models import AgreementKind
from funding.models import FundingRecord
from migrationsupport.models import Status
from migrationsupport.site import digests
from migrationsupport.site.digests import REGION_LIST_LIMIT, region_digests, top_ids_per_region
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_regions():
    """Region A with 7 funding records of €1..7m, region B with 2 of €10m and €20m, 1 draft of €99m."""
    a, b = RegionFactory(slug="a"), RegionFactory(slug="b")
    for millions in range(1, 8):
        FundingRecordFactory(slug=f"a-{millions}", amount=Decimal(millions * 1_000_000), regions=[a])
    for millions in (10, 20):
        FundingRecordFactory(slug=f"b-{millions}", amount=Decimal(millions * 1_000_000), regions=[b])
    FundingRecordFactory(slug="draft", amount=Decimal(99_000_000), regions=[a, b], status=Status.DRAFT)
    return a, b


def largest_three(regions):
    through = FundingRecord.regions.through.objects.filter(
        region__in=regions, fundingrecord__status=Status.PUBLISHED
    )
    ids = top_ids_per_region(
        through,
        region="region_id",
        record="fundingrecord_id",
        order_by=[F("fundingrecord__amount").desc(nulls_last=True), "fundingrecord_id"],
        region_ids=[r.pk for r in regions],
        limit=3,
    )
    return set(FundingRecord.objects.filter(pk__in=ids).values_list("slug", flat=True))


@pytest.mark.parametrize("lateral", [True, False], ids=["lateral-limits", "window"])
def test_top_ids_per_region_takes_the_first_of_each_region(two_regions, lateral, monkeypatch):
    # PostgreSQL answers with a LIMIT query per region joined LATERAL; SQLite (no LATERAL) with
    # ROW_NUMBER(). Both are run here on PostgreSQL and must choose the same rows.
    monkeypatch.setattr(digests, "_lateral", lambda connection: lateral)
    assert largest_three(two_regions) == {"a-7", "a-6", "a-5", "b-20", "b-10"}


def test_top_ids_per_region_of_no_region_is_empty(two_regions, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert largest_three([]) == set()


def test_region_lists_stop_at_the_limit_largest_first():
    region = RegionFactory(slug="r")
    for millions in range(1, REGION_LIST_LIMIT + 3):
        FundingRecordFactory(amount=Decimal(millions * 1_000_000), regions=[region])
    for document in DocumentFactory.create_batch(REGION_LIST_LIMIT + 1):
        document.regions.add(region)

    digest = region_digests(regions=[region])[0]

    shown = [node.record.amount for node in digest.funding]
    assert shown == [Decimal(m * 1_000_000) for m in range(REGION_LIST_LIMIT + 2, 2, -1)]
    assert len(digest.documents) == REGION_LIST_LIMIT


def test_a_region_with_more_records_than_shown_says_so():
    full, small = RegionFactory(slug="full"), RegionFactory(slug="small")
    FundingRecordFactory.create_batch(REGION_LIST_LIMIT + 1, regions=[full])
    FundingRecordFactory.create_batch(REGION_LIST_LIMIT, regions=[small])
    for document in DocumentFactory.create_batch(REGION_LIST_LIMIT):
        document.regions.add(full)

    digests = {d.region.slug: d for d in region_digests(regions=[full, small])}

    assert digests["full"].more == {"funding"}
    assert len(digests["full"].funding) == REGION_LIST_LIMIT
    assert len(digests["full"].documents) == REGION_LIST_LIMIT
    assert digests["small"].more == set()
    assert len(digests["small"].funding) == REGION_LIST_LIMIT


@pytest.mark.parametrize("lateral", [True, False], ids=["lateral-limits", "window"])
def test_an_agreement_with_several_parties_in_a_region_counts_once_among_its_first(lateral, monkeypatch):
    # The first agreements of a region by its parties' regions are chosen from the parties: one
    # with two parties there must not take two of the places, hiding one and the "more" link.
    monkeypatch.setattr(digests, "_lateral", lambda connection: lateral)
    region = RegionFactory(slug="balkans")
    one, two = CountryFactory(region=region, iso_code="AL"), CountryFactory(region=region, iso_code="RS")
    AgreementFactory(title="A regional arrangement", parties=[one, two])
    for number in range(REGION_LIST_LIMIT):
        AgreementFactory(title=f"Agreement {number:02}", parties=[one])

    [digest] = region_digests(regions=[region])

    assert len(digest.agreements) == REGION_LIST_LIMIT
    assert digest.more == {"agreements"}


@pytest.mark.parametrize("walk", [4, digests.PARTY_WALK], ids=["walk-of-4", "walk-of-PARTY_WALK"])
@pytest.mark.parametrize("lateral", [True, False], ids=["lateral-limits", "window"])
def test_each_region_gets_its_first_agreements_by_its_parties_however_found(lateral, walk, monkeypatch):
    # On PostgreSQL the agreements are walked in the lists' order until a region has enough (3
    # shown + 1 to know there are more) or PARTY_WALK were walked; a region left short is ranked
    # in full. With a walk of 4, "dense" is served by the walk and "sparse" (whose agreements
    # come last but one) by the ranking; both must get what ranking everything gives.
    monkeypatch.setattr(digests, "_lateral", lambda connection: lateral)
    monkeypatch.setattr(digests, "PARTY_WALK", walk)
    dense, sparse, bare = (RegionFactory(slug=slug) for slug in ("dense", "sparse", "bare"))
    near, far = CountryFactory(region=dense, iso_code="AL"), CountryFactory(region=sparse, iso_code="RS")
    hidden = CountryFactory(region=bare, iso_code="ME", status=Status.DRAFT)
    AgreementFactory(title="A draft", parties=[near, far], status=Status.DRAFT)
    # Created out of the lists' order.
    for letter in "FEDC":
        AgreementFactory(title=f"{letter} near", parties=[near, hidden])
    # Walked first, also in "sparse": the walk finds one of sparse's, which still needs ranking.
    AgreementFactory(title="B both parties", parties=[near, CountryFactory(region=dense, iso_code="MK"), far])
    # A statement comes after every readmission agreement, whatever its title.
    for number in (1, 2):
        AgreementFactory(title=f"A near statement {number}", kind=AgreementKind.STATEMENT, parties=[near])
    AgreementFactory(title="Y far statement", kind=AgreementKind.STATEMENT, parties=[far])
    AgreementFactory(title="Z far", parties=[far])

    found = {d.region.slug: d for d in region_digests(regions=[dense, sparse, bare], limit=3)}

    assert [a.title for a in found["dense"].agreements] == ["B both parties", "C near", "D near"]
    assert found["dense"].more == {"agreements"}
    assert [a.title for a in found["sparse"].agreements] == ["B both parties", "Z far", "Y far statement"]
    assert found["sparse"].more == set()
    assert found["bare"].agreements == []


def test_each_region_shows_its_own_first_ones_when_records_span_regions():
    # "a"'s three records are also linked to "b", where they rank last: b fetches its own first
    # ones, receives a's too, and after the cut shows exactly its own largest.
    a, b = RegionFactory(slug="a"), RegionFactory(slug="b")
    for millions in (1, 2, 3):
        FundingRecordFactory(amount=Decimal(millions * 1_000_000), regions=[a, b])
    for millions in range(10, 10 + REGION_LIST_LIMIT):
        FundingRecordFactory(amount=Decimal(millions * 1_000_000), regions=[b])

    digests = {d.region.slug: d for d in region_digests(regions=[a, b])}

    shown = [node.record.amount / 1_000_000 for node in digests["b"].funding]
    assert shown == list(range(10 + REGION_LIST_LIMIT - 1, 9, -1))
    assert digests["b"].more == {"funding"}
    assert [node.record.amount / 1_000_000 for node in digests["a"].funding] == [3, 2, 1]
    assert digests["a"].more == set()


def test_a_digest_loads_the_related_records_its_lists_show_and_no_other():
    """Each list joins only what its lines show (``{% funding_node %}``: instrument and source;
    ``{% agreement_item %}`` and ``{% document_item %}``: neither source nor region; a country:
    its source, not its region): a region's page built some 280 records it never showed."""
    region = RegionFactory(slug="r")
    parent = FundingRecordFactory(regions=[region], instrument=InstrumentFactory())
    FundingRecordFactory(
        regions=[region], parent=parent, instrument=parent.instrument, conference=PledgingConferenceFactory()
    )
    DocumentFactory().regions.add(region)
    country = CountryFactory(region=region)
    AgreementFactory(region=region, parties=[country])

    (digest,) = region_digests(regions=[region])

    def joined(obj) -> set[str]:  # the to-one relations loaded with the record
        return {field.name for field in obj._meta.get_fields() if field.many_to_one and field.is_cached(obj)}

    (whole,) = digest.funding
    records = [whole.record, *(child.record for child in whole.children)]
    assert [joined(record) for record in records] == [{"instrument", "source"}] * 2
    assert [joined(document) for document in digest.documents] == [set()]
    assert [joined(agreement) for agreement in digest.agreements] == [set()]
    assert [joined(country) for country in digest.countries] == [{"source"}]


def test_a_region_whose_first_ones_are_all_under_a_sub_region_still_links_to_the_rest(client):
    """The parent's first records are all linked to its sub-region too, so they are listed there,
    not again under the parent: the parent's list is empty, but it had more, and the page must
    still lead to them (the group and its link used to vanish with the list)."""
    parent = RegionFactory(slug="parent", name="Parent region")
    sub = RegionFactory(slug="sub", name="Sub-region", parent=parent)
    for millions in range(10, 10 + REGION_LIST_LIMIT + 1):
        FundingRecordFactory(amount=Decimal(millions * 1_000_000), regions=[parent, sub])
    FundingRecordFactory(amount=Decimal(1_000_000), regions=[parent], title="Parent only, smallest")

    digest = next(d for d in region_digests(regions=[parent, sub]) if d.region.slug == "parent")
    assert digest.funding == [] and digest.more == {"funding"}

    page = client.get("/regions/parent/").content.decode()
    assert 'id="parent-funding"' in page
    assert "The largest figures are listed under its sub-regions" in page
    assert 'href="/funding/?region=parent"' in page
    assert "Parent only, smallest" not in page
