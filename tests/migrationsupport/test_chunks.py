"""Records a chunk at a time (migrationsupport.chunks): without server-side cursors (PgBouncer in
transaction mode) the same records in the same order, each query bounded by the chunk."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding.models import FundingRecord
from migrationsupport import chunks
from tests.factories import FundingRecordFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def without_server_side_cursors():
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True
    yield
    connection.settings_dict.pop("DISABLE_SERVER_SIDE_CURSORS")


@pytest.mark.parametrize("values", [False, True], ids=["instances", "values"])
def test_without_server_side_cursors_the_chunks_are_the_same_and_read_by_id(values, request):
    source = SourceFactory()
    for number in range(7):  # amounts out of id order, two equal
        FundingRecordFactory(source=source, amount=Decimal((number * 3) % 5 + 1))
    queryset = FundingRecord.objects.published().order_by("-amount", "-pk")
    if values:
        queryset = queryset.values("pk", "amount")
    with_cursor = [[chunks._pk(record) for record in chunk] for chunk in chunks._chunks(queryset, 3)]

    request.getfixturevalue("without_server_side_cursors")
    with CaptureQueriesContext(connection) as queries:
        by_id = list(chunks._chunks(queryset, 3))
    assert [[chunks._pk(record) for record in chunk] for chunk in by_id] == with_cursor
    assert [len(chunk) for chunk in by_id] == [3, 3, 1]
    assert by_id[0][0] == (queryset[0] if values else queryset.first())
    # The ids in one query, then one query per chunk; no cursor.
    assert len(queries) == 4
    assert not any("CURSOR" in query["sql"] for query in queries)


def test_related_values_are_each_owners_published_values_in_order_from_one_compiled_query():
    """``RelatedValues.of``: what ``prefetch_related`` would list (published related records, in
    the related model's order), from SQL compiled once and run once per chunk."""
    from regions.models import Region
    from tests.factories import RegionFactory

    zeta, alpha = RegionFactory(slug="zeta", name="Zeta"), RegionFactory(slug="alpha", name="Alpha")
    hidden = RegionFactory(slug="hidden", name="Hidden", status="draft")
    both = FundingRecordFactory(regions=[zeta, hidden, alpha])
    one = FundingRecordFactory(regions=[hidden, zeta])
    none = FundingRecordFactory()
    related = chunks.RelatedValues(FundingRecord, "regions", "slug", drafts=False)

    def expected(record) -> list[str]:
        regions = record.regions.published().order_by(*(Region._meta.ordering or ()), "pk")
        return [region.slug for region in regions]

    with CaptureQueriesContext(connection) as queries:
        assert related.of([both.pk, one.pk, none.pk]) == {both.pk: expected(both), one.pk: expected(one)}
        assert related.of([one.pk]) == {one.pk: ["zeta"]}
    assert sorted(expected(both)) == ["alpha", "zeta"]  # the draft left out
    assert len([q for q in queries.captured_queries if "unnest" in q["sql"]]) == 2
    assert related._compiled  # compiled once, reused by the second chunk
