"""The API's JSON lists: the records read without a serializer per record (``RecordPlan``) are
byte for byte what the serializer writes, for every endpoint, in lists and in each record's own
answer, for the public and for staff."""

from __future__ import annotations

import datetime
import json
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from migrationsupport.api import records as api_records
from migrationsupport.api.records import RecordPlan
from tests.api.support import ENDPOINTS
from tests.factories import FundingRecordFactory

pytestmark = pytest.mark.django_db

#: Endpoints whose records the serializer still writes (an agreement's nested timeline is now
#: read by its own plan: ``NestedRecords``).
SERIALIZED: set[str] = set()


def _json(client, url, params, *, fast: bool, monkeypatch) -> bytes:
    with monkeypatch.context() as patch:
        if not fast:  # no plan, and none kept from the fast answer (``public_plan``)
            patch.setattr(RecordPlan, "plan", classmethod(lambda cls, *args, **kwargs: None))
            patch.setattr(api_records, "_public_plans", {})
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        return response.content


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
@pytest.mark.parametrize("who", ["public", "staff"])
def test_fast_json_records_are_the_serializers(
    api,
    staff_client,
    dataset,
    monkeypatch,
    name,
    who,
):
    endpoint = ENDPOINTS[name]
    client = api if who == "public" else staff_client(endpoint.perm("view"))
    planned = []
    plan = RecordPlan.plan.__func__

    def spy(cls, *args, **kwargs):
        planned.append(plan(cls, *args, **kwargs))
        return planned[-1]

    monkeypatch.setattr(RecordPlan, "plan", classmethod(spy))
    # The first page, and a page of one record in another order.
    for params in ({}, {"page_size": 1, "ordering": "-updated_at"}):
        fast = _json(client, endpoint.list_url(), params, fast=True, monkeypatch=monkeypatch)
        assert planned, "the list did not ask for a plan"
        assert (planned[-1] is None) == (name in SERIALIZED)
        assert fast == _json(client, endpoint.list_url(), params, fast=False, monkeypatch=monkeypatch)
        assert b'"results":[{' in fast
    # Each listed record's own answer.
    for record in json.loads(fast)["results"]:
        detail = urlsplit(record["api_url"]).path
        fast_detail = _json(client, detail, {}, fast=True, monkeypatch=monkeypatch)
        assert (planned[-1] is None) == (name in SERIALIZED)
        assert fast_detail == _json(client, detail, {}, fast=False, monkeypatch=monkeypatch)
        assert json.loads(fast_detail) == record


def test_the_publics_plan_is_kept_for_each_host(api, staff_client, settings, monkeypatch):
    # Built once per serializer and host (``public_plan``), each host's answers still give its
    # own addresses, and an officer's drafts are planned for each answer, never kept.
    settings.ALLOWED_HOSTS = ["one.example", "two.example", "testserver"]
    FundingRecordFactory(slug="shown")
    FundingRecordFactory(slug="draft", status="draft")
    built = []
    plan = RecordPlan.plan.__func__

    def spy(cls, *args, **kwargs):
        built.append(kwargs["show_drafts"])
        return plan(cls, *args, **kwargs)

    monkeypatch.setattr(RecordPlan, "plan", classmethod(spy))
    url = ENDPOINTS["funding"].list_url()
    officer = staff_client(ENDPOINTS["funding"].perm("view"))
    addresses = []
    for host in ("one.example", "two.example", "one.example", "two.example"):
        (record,) = api.get(url, HTTP_HOST=host).json()["results"]
        addresses.append(record["api_url"])
        assert {r["slug"] for r in officer.get(url).json()["results"]} == {"shown", "draft"}
    assert [urlsplit(address).netloc for address in addresses] == ["one.example", "two.example"] * 2
    assert built.count(False) == 2  # one plan per host
    assert built.count(True) == 4  # one per officer's answer


def test_an_empty_page_makes_no_relation_query(api, django_assert_num_queries):
    # The count only: no records, so neither the page nor its relations are read.
    with django_assert_num_queries(1):
        response = api.get(ENDPOINTS["funding"].list_url())
    assert response.json()["results"] == []


def test_the_page_count_reads_no_related_table(api):
    # The page's rows read their sources and related slugs through joins; its count needs none.
    FundingRecordFactory()
    with CaptureQueriesContext(connection) as queries:
        assert api.get(ENDPOINTS["funding"].list_url()).json()["count"] == 1
    # The count first (of the records, or the stored size of their set: ``funding.rollup.count``).
    count = queries.captured_queries[0]["sql"]
    assert "COUNT(*)" in count and "JOIN" not in count


def test_an_agreements_timeline_is_read_in_one_query_for_the_page_as_the_serializer_writes_it(
    api, django_assert_num_queries, monkeypatch
):
    # Several events a record, dated out of their creation order, one on the same day as
    # another, with empty texts (null), a draft among them, and agreements without any.
    from agreements.models import EventKind
    from tests.factories import AgreementEventFactory, AgreementFactory

    day = datetime.date(2019, 1, 1)
    for n in range(3):
        agreement = AgreementFactory()
        in_force = datetime.date(2020 + n, 5, 1)
        AgreementEventFactory(agreement=agreement, kind=EventKind.ENTERED_INTO_FORCE, date=in_force)
        AgreementEventFactory(agreement=agreement, date=day, description="")
        AgreementEventFactory(agreement=agreement, date=day, official_reference="32014D0252")
        AgreementEventFactory(agreement=agreement, status="draft", date=datetime.date(2018, 1, 1))
        AgreementFactory()
    url = ENDPOINTS["agreements"].list_url()
    # The count, the page, its parties, its themes and its events: not one query per agreement.
    with django_assert_num_queries(5):
        fast = api.get(url).content
    records = json.loads(fast)["results"]
    timelines = [record["events"] for record in records if record["events"]]
    assert len(timelines) == 3 and all(len(events) == 3 for events in timelines)
    for events in timelines:
        assert [event["date"] for event in events] == sorted(event["date"] for event in events)
    monkeypatch.setattr(RecordPlan, "plan", classmethod(lambda cls, *args, **kwargs: None))
    monkeypatch.setattr(api_records, "_public_plans", {})
    assert fast == api.get(url).content
