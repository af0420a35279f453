"""The agreement endpoints: current status from the timeline, events, key documents."""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from agreements.models import AgreementEvent
from migrationsupport.models import Status
from tests.api.support import API, keys
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def belarus_visa():
    """Visa facilitation with Belarus: in force from 1 July 2020, partially suspended 9 Nov 2021."""
    belarus = CountryFactory(iso_code="BY")
    agreement = AgreementFactory(slug="by-visa", kind="visa_facilitation", parties=[belarus])
    AgreementEventFactory(
        agreement=agreement, kind="entered_into_force", date=datetime.date(2020, 7, 1), date_precision="day"
    )
    AgreementEventFactory(
        agreement=agreement, kind="partially_suspended", date=datetime.date(2021, 11, 9), date_precision="day"
    )
    return agreement


def test_an_agreement_carries_its_timeline_and_current_status(api, belarus_visa):
    AgreementEventFactory(
        agreement=belarus_visa, kind="withdrawn", date=datetime.date(2024, 1, 1), status=Status.DRAFT
    )
    body = api.get(f"{API}/agreements/by-visa/").json()
    assert body["current_status"] == "partially_suspended"  # the draft event does not count
    assert body["parties"] == ["BY"]
    assert [(e["kind"], e["date_display"]) for e in body["events"]] == [
        ("entered_into_force", "1 July 2020"),
        ("partially_suspended", "9 November 2021"),
    ]
    assert body["events"][1]["resulting_status"] == "partially_suspended"


def test_agreement_filters(api, belarus_visa):
    north_macedonia = CountryFactory(iso_code="MK", region=RegionFactory(slug="western-balkans"))
    frontex = AgreementFactory(
        slug="mk-frontex", kind="frontex_status", agency="frontex", parties=[north_macedonia]
    )
    AgreementEventFactory(agreement=frontex, kind="signed", date=datetime.date(2022, 10, 1))
    AgreementEventFactory(agreement=frontex, kind="operations_launched", date=datetime.date(2023, 4, 1))
    AgreementFactory(slug="stated", stated_status="concluded")

    cases = {
        "status=partially_suspended": ["by-visa"],
        "status=operational": ["mk-frontex"],
        "status=concluded": ["stated"],
        "status=in_force": [],
        "kind=frontex_status": ["mk-frontex"],
        "country=BY": ["by-visa"],
        "region=western-balkans": ["mk-frontex"],
        "agency=frontex": ["mk-frontex"],
        "date_after=2022-01-01": ["mk-frontex"],
        "date_before=2020-12-31": ["by-visa"],
    }
    for query, expected in cases.items():
        assert keys(api.get(f"{API}/agreements/?{query}")) == expected, query
    assert keys(api.get(f"{API}/agreements/", {"ordering": "-current_status"})) == [
        "by-visa",
        "mk-frontex",
        "stated",
    ]
    assert api.get(f"{API}/agreements/", {"date_after": "last year"}).status_code == 400
    assert api.get(f"{API}/agreements/", {"status": "forgotten"}).status_code == 400


def test_agreements_csv_leaves_the_timeline_to_its_own_endpoint(api, belarus_visa):
    rows = list(csv.DictReader(io.StringIO(api.get(f"{API}/agreements/?format=csv").getvalue().decode())))
    assert rows[0]["current_status"] == "partially_suspended"
    assert "events" not in rows[0]
    events = list(
        csv.DictReader(io.StringIO(api.get(f"{API}/agreement-events/?format=csv").getvalue().decode()))
    )
    assert [row["date_display"] for row in events] == ["1 July 2020", "9 November 2021"]


def test_events_of_a_draft_agreement_are_hidden(api, belarus_visa):
    draft = AgreementFactory(status=Status.DRAFT)
    hidden = AgreementEventFactory(agreement=draft)
    event = AgreementEvent.objects.filter(agreement=belarus_visa).first()
    assert api.get(f"{API}/agreement-events/{hidden.pk}/").status_code == 404
    body = api.get(f"{API}/agreement-events/{event.pk}/").json()
    assert body["agreement"] == "by-visa"
    assert body["url"] == f"http://testserver/agreements/by-visa/#event-{event.pk}"
    assert len(keys(api.get(f"{API}/agreement-events/", {"agreement": "by-visa"}), "id")) == 2
    assert keys(api.get(f"{API}/agreement-events/", {"kind": "partially_suspended"}), "id") != []


def test_an_event_date_must_match_its_precision(staff_client, belarus_visa):
    response = staff_client("agreements.add_agreementevent").post(
        f"{API}/agreement-events/",
        {
            "agreement": "by-visa",
            "kind": "signed",
            "date": {"date": "2022-10-18", "precision": "month"},
            "source": belarus_visa.source.slug,
        },
    )
    assert response.status_code == 400
    assert "2022-10-01" in response.json()["date"][0]
    assert AgreementEvent.objects.count() == 2


def test_documents(api):
    theme = ThemeFactory(slug="returns")
    pact = DocumentFactory(
        slug="pact",
        title="Pact on Migration and Asylum",
        kind="legislation",
        date=datetime.date(2024, 5, 1),
        date_precision="month",
        url="https://example.eu/pact",
    )
    pact.themes.add(theme)
    DocumentFactory(slug="older", date=datetime.date(2016, 3, 1), date_precision="month")
    body = api.get(f"{API}/documents/pact/").json()
    assert body["document_url"] == "https://example.eu/pact"
    assert body["url"] == "http://testserver/documents/pact/"
    assert (body["date"], body["date_display"]) == ("2024-05", "May 2024")
    assert keys(api.get(f"{API}/documents/", {"theme": "returns"})) == ["pact"]
    assert keys(api.get(f"{API}/documents/", {"year": 2016})) == ["older"]
    assert keys(api.get(f"{API}/documents/", {"kind": "legislation"})) == ["pact"]
    assert keys(api.get(f"{API}/documents/", {"ordering": "date"})) == ["older", "pact"]
    assert keys(api.get(f"{API}/documents/", {"search": "asylum"})) == ["pact"]


def test_concluded_in_force_and_no_stated_status_are_told_apart(api):
    AgreementFactory(slug="al-frontex", kind="frontex_status", stated_status="concluded")
    in_force = AgreementFactory(slug="by-visa-in-force", kind="visa_facilitation")
    AgreementEventFactory(agreement=in_force, kind="entered_into_force", date=datetime.date(2020, 7, 1))
    AgreementFactory(slug="by-readmission", stated_status="")

    statuses = {a["slug"]: a["current_status"] for a in api.get(f"{API}/agreements/").json()["results"]}

    assert statuses == {"al-frontex": "concluded", "by-visa-in-force": "in_force", "by-readmission": None}
    assert api.get(f"{API}/agreements/by-readmission/").json()["stated_status"] is None
    schema = api.get("/api/schema/", {"format": "json"}).json()
    assert {"concluded", "in_force"} <= set(schema["components"]["schemas"]["AgreementStatusEnum"]["enum"])


def test_agreements_filter_by_key_area(api):
    theme = ThemeFactory(slug="legal-migration")
    inside = AgreementFactory(slug="talent-partnership")
    inside.themes.add(theme)
    AgreementFactory(slug="readmission")
    assert keys(api.get(f"{API}/agreements/", {"theme": "legal-migration"})) == ["talent-partnership"]
    assert api.get(f"{API}/agreements/", {"theme": "nowhere"}).status_code == 400
