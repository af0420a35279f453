"""The change feed ``/api/v1/changes/``: replaying it from the start into an empty copy gives
exactly what the API lists show, after every kind of write; a mirror kept by polling stays exact;
bad cursors are refused; drafts never appear.

The feed serves rows of committed transactions only (``changes.feed_rows``), so these tests
commit their writes (``transactional_db``) instead of running inside one test transaction.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from agreements.models import AgreementEvent
from funding.models import FundingRecord
from migrationsupport import changes, services
from migrationsupport.models import PublicChange, Status
from migrationsupport.registry import registry
from regions.models import Region
from tests.api.support import route_figure
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FulfilmentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    RegionFactory,
    RouteFactory,
    SourceFactory,
    ThemeFactory,
)

FEED = "/api/v1/changes/"
pytestmark = pytest.mark.django_db(transaction=True)


class Mirror:
    """A client's copy of the published data, kept only from the feed."""

    def __init__(self, client: APIClient):
        self.client = client
        self.records: dict[tuple[str, int], dict] = {}
        self.cursor: str | None = None

    def poll(self, page_size: int = 7) -> int:
        """Read the feed from the cursor until nothing more is ready; returns entries read."""
        read = 0
        while True:
            query = {"page_size": str(page_size), **({"since": self.cursor} if self.cursor else {})}
            answer = self.client.get(FEED, query)
            assert answer.status_code == 200, answer.content
            body = answer.json()
            for entry in body["results"]:
                key = (entry["type"], entry["id"])
                if entry["action"] == "upsert":
                    self.records[key] = entry["object"]
                else:
                    assert entry["object"] is None
                    self.records.pop(key, None)
                read += 1
            self.cursor = body["cursor"]
            if not body["has_more"]:
                return read

    def by_type(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {route.prefix: [] for route in registry.api_routes}
        for (kind, _id), data in self.records.items():
            found[kind].append(json.dumps(data, sort_keys=True))
        return {kind: sorted(items) for kind, items in found.items()}


def api_lists(client: APIClient) -> dict[str, list[str]]:
    """Every record of every endpoint's list, as the anonymous public reads them."""
    found = {}
    for route in registry.api_routes:
        items, url = [], f"/api/v1/{route.prefix}/?page_size=100"
        while url:
            answer = client.get(url)
            assert answer.status_code == 200, (route.prefix, answer.content)
            body = answer.json()
            items += [json.dumps(item, sort_keys=True) for item in body["results"]]
            url = body["next"]
        found[route.prefix] = sorted(items)
    return found


def assert_exact(mirror: Mirror, client: APIClient) -> None:
    lists = api_lists(client)
    mirrored = mirror.by_type()
    for kind in lists:
        assert mirrored[kind] == lists[kind], kind
    assert sum(len(items) for items in lists.values()) > 0


def edit(record, **values):
    for name, value in values.items():
        setattr(record, name, value)
    services.save_with_version_check(instance=record, expected_version=record.version, user=None)


def test_replay_from_the_start_rebuilds_the_published_data_and_polling_keeps_it_exact():
    client = APIClient()
    source = SourceFactory()
    region, other_region = RegionFactory(source=source), RegionFactory(source=source)
    country = CountryFactory(region=region, source=source)
    theme = ThemeFactory(source=source)
    instrument = InstrumentFactory(source=source)
    parent = FundingRecordFactory(source=source, regions=[region], countries=[country], themes=[theme])
    child = FundingRecordFactory(
        source=source, parent=parent, amount=parent.amount / 2, instrument=instrument
    )
    draft = FundingRecordFactory(source=source, status=Status.DRAFT, title="Not yet public", regions=[region])
    agreement = AgreementFactory(source=source, parties=[country], region=region)
    event = AgreementEventFactory(agreement=agreement, source=source)
    route = RouteFactory(source=source)
    route.regions.set([region])
    figure = route_figure(route=route, source=source)
    document = DocumentFactory(source=source)
    document.countries.set([country])
    pledge = FundingRecordFactory(source=source, measure="pledged")
    commitment = FundingRecordFactory(source=source, measure="committed")
    payment = FundingRecordFactory(source=source, measure="paid")
    direct_payment = FundingRecordFactory(source=source, measure="paid")

    early = Mirror(client)
    early.poll()
    assert_exact(early, client)

    # Edits while published, a draft's edits, publication and withdrawal, m2m-only changes.
    edit(parent, title="Renamed figure")
    edit(draft, title="Still a draft")
    services.publish(instance=draft, user=None)
    parent.regions.add(other_region)  # many-to-many only
    services.unpublish(instance=child, user=None)  # the parent loses a part: its children change
    edit(region, slug="renamed-region")  # everyone naming the region shows the new slug
    services.unpublish(instance=other_region, user=None)  # named by parent: it disappears there
    services.unpublish(instance=route, user=None)  # its figure's page owner: the figure goes too
    AgreementEventFactory(agreement=agreement, source=source, date=datetime.date(2023, 4, 1))
    edit(event, description="Signed in Skopje")  # the agreement's timeline changes
    document.countries.clear()
    edit(theme, name="Renamed theme")
    edit(instrument, name="Renamed instrument")
    doomed = FundingRecordFactory(source=source)
    early_deleted_id = doomed.pk
    doomed.delete()  # deleted while published
    FundingRecord.objects.get(pk=draft.pk).delete()  # the published draft, deleted
    AgreementEvent.objects.filter(pk=event.pk).get().delete()
    services.publish(instance=route, user=None)
    # A fulfilment link has no list of its own: it shows inside both funding records.
    FulfilmentFactory(fulfilled=pledge, fulfilling=commitment, source=source)
    FulfilmentFactory(fulfilled=commitment, fulfilling=payment, source=source)
    early.poll()
    assert_exact(early, client)
    # Changes shown in a record that is not the link's page owner (its "fulfilled" record).
    FulfilmentFactory(fulfilled=pledge, fulfilling=direct_payment, source=source)  # its "fulfils"
    services.unpublish(instance=payment, user=None)  # the commitment's "fulfilled by" loses it

    early.poll()  # the mirror that kept up by polling
    assert_exact(early, client)
    assert ("funding", early_deleted_id) not in early.records

    fresh = Mirror(client)  # and a copy replayed from nothing
    fresh.poll(page_size=100)
    assert_exact(fresh, client)
    assert fresh.records == early.records
    assert figure.pk in {pk for kind, pk in fresh.records if kind == "route-figures"}


def test_a_draft_never_appears_and_staff_read_the_public_representation(django_user_model):
    source = SourceFactory()
    draft_region = RegionFactory(source=source, status=Status.DRAFT, slug="secret-region")
    record = FundingRecordFactory(source=source, regions=[draft_region])
    edit(draft_region, name="Secret name")
    staff_client = APIClient()
    staff_client.force_authenticate(
        django_user_model.objects.create_superuser("boss", "boss@example.org", "pw")
    )
    for client in (APIClient(), staff_client):
        body = client.get(FEED, {"page_size": "100"}).content.decode()
        assert "secret-region" not in body and "Secret name" not in body
        entries = json.loads(body)["results"]
        assert ("funding", record.pk) in {(entry["type"], entry["id"]) for entry in entries}
        assert ("regions", draft_region.pk) not in {(entry["type"], entry["id"]) for entry in entries}


def test_a_bulk_created_record_gets_its_baseline_and_the_sync_repairs_changes_made_without_signals():
    client = APIClient()
    source = SourceFactory()
    Region.objects.bulk_create([Region(name="Bulk", slug="bulk", source=source, status=Status.PUBLISHED)])
    kept = RegionFactory(source=source)
    assert changes.sync_public_changes() == {"regions.region": 1}
    assert changes.sync_public_changes() == {}  # nothing more to add
    Region.objects.filter(pk=kept.pk).update(status=Status.DRAFT)  # no signal, no history
    call_command("sync_public_changes", verbosity=0)
    mirror = Mirror(client)
    mirror.poll()
    assert_exact(mirror, client)
    assert ("region", kept.pk) not in mirror.records


def test_the_seed_fixtures_replay_to_the_published_seed():
    client = APIClient()
    call_command(
        "loaddata", *sorted(str(path) for path in settings.BASE_DIR.glob("fixtures/*.json")), verbosity=0
    )
    mirror = Mirror(client)
    mirror.poll(page_size=100)
    assert_exact(mirror, client)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "not-a-cursor"}, "since"),
        ({"since": "MTo5OTk="}, "since"),  # base64 of "1:999": two parts, not three
        ({"since": "Mjo1OjU"}, "since"),  # "2:5:5": an unknown version
        ({"since": "MTotMTo1"}, "since"),  # "1:-1:5"
        ({"since": "\x00"}, "since"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
    ],
)
def test_a_malformed_cursor_or_page_size_is_a_400_with_a_message(query, field):
    answer = APIClient().get(FEED, query)
    assert answer.status_code == 400
    assert field in json.dumps(answer.json())


def test_a_cursor_from_the_feed_resumes_after_its_entry():
    client = APIClient()
    RegionFactory()
    first = client.get(FEED, {"page_size": 1}).json()
    rest = client.get(FEED, {"since": first["cursor"], "page_size": 100}).json()
    everything = client.get(FEED, {"page_size": 100}).json()
    assert [e["cursor"] for e in first["results"] + rest["results"]] == [
        e["cursor"] for e in everything["results"]
    ]
    assert rest["cursor"] == everything["cursor"]
    assert client.get(FEED, {"since": everything["cursor"]}).json()["results"] == []


def test_rows_of_a_transaction_still_running_are_not_served_yet():
    """The visibility rule: a row is served only once every older transaction has ended."""
    RegionFactory()
    before = PublicChange.objects.count()
    served = len(changes.feed_rows(after=None, limit=1000, model_labels=changes.api_routes()))
    assert served == before
    from django.db import transaction

    with transaction.atomic():
        RegionFactory()
        assert PublicChange.objects.count() > before
        # Inside the writing transaction its own rows are not served either.
        assert len(changes.feed_rows(after=None, limit=1000, model_labels=changes.api_routes())) == served


def test_a_page_reads_each_record_type_in_one_query_with_its_relations(dataset, django_assert_num_queries):
    """Records of every type with related records, drafts among them, several in an order their
    ids do not follow: the feed's objects are the lists' own, read in one query per record type
    on the page (its to-many relations with it, ``RecordPlan.with_relations``), one for the
    agreements' events, and the feed's own two (its horizon and its rows)."""
    # Related records whose ids run against their names' order (the lists' order).
    zeta, alpha = CountryFactory(name="Zeta"), CountryFactory(name="Alpha")
    DocumentFactory().countries.set([zeta, alpha])
    FundingRecordFactory(countries=[zeta, alpha], themes=[ThemeFactory(name="Z"), ThemeFactory(name="A")])
    client = APIClient()
    page = {"page_size": "100"}
    types = {entry["type"] for entry in client.get(FEED, page).json()["results"]}
    assert {"funding", "agreements", "documents", "instruments", "routes"} <= types
    with django_assert_num_queries(2 + len(types) + 1):
        assert client.get(FEED, page).status_code == 200
    mirror = Mirror(client)
    mirror.poll(page_size=100)
    assert_exact(mirror, client)
