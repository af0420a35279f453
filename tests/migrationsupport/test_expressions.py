import pytest
from django.db import models

from funding.models import FundingRecord
from migrationsupport.expressions import Mapped
from tests.factories import FundingRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    FundingRecordFactory(slug="a-programme", kind="programme")
    FundingRecordFactory(slug="a-pledge", kind="pledge")


def _mapped(mapping):
    rows = FundingRecord.objects.annotate(
        mapped=Mapped("kind", mapping, output_field=models.IntegerField())
    ).order_by("slug")
    return list(rows.values_list("slug", "mapped"))


def test_each_value_maps_to_its_entry_and_any_other_to_null(records):
    assert _mapped({"programme": 1}) == [("a-pledge", None), ("a-programme", 1)]
    assert _mapped({"programme": 1, "pledge": 2}) == [("a-pledge", 2), ("a-programme", 1)]


def test_an_empty_mapping_maps_every_value_to_null(records):
    assert _mapped({}) == [("a-pledge", None), ("a-programme", None)]
