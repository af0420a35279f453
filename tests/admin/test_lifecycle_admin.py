"""Officers keep the agreement lifecycle true: what is missing, refused steps, recent changes."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from agreements.models import Agreement, AgreementEvent
from tests.admin.conftest import admin_url
from tests.factories import AgreementEventFactory, AgreementFactory, SourceFactory

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def lifecycles():
    skipped = AgreementFactory(title="Skipped step")
    AgreementEventFactory(agreement=skipped, kind="signed", official_reference="32014D0252")
    AgreementEventFactory(agreement=skipped, kind="operations_launched", date=D(2023, 4, 1))
    unreferenced = AgreementFactory(title="No reference")
    AgreementEventFactory(agreement=unreferenced, kind="entered_into_force", date=D(2020, 7, 1))
    complete = AgreementFactory(title="Complete")
    AgreementEventFactory(agreement=complete, kind="signed", official_reference="OJ L, 2024/1234, 22.5.2024")
    AgreementFactory(title="Stated only", stated_status="concluded")
    AgreementFactory(title="Not stated", stated_status="")


@pytest.mark.parametrize(
    ("missing", "titles"),
    [
        ("status", {"Not stated"}),
        ("dated_step", {"Stated only"}),
        ("skip_reason", {"Skipped step"}),
        ("reference", {"No reference"}),
        ("nothing", {"Complete"}),
    ],
)
def test_the_agreements_list_filters_on_what_is_missing(admin_client, lifecycles, missing, titles):
    response = admin_client.get(admin_url(Agreement, "changelist"), {"missing": missing})
    assert response.status_code == 200
    assert {a.title for a in response.context["cl"].result_list} == titles


def test_the_agreements_list_says_what_is_missing_without_a_query_per_row(admin_client, lifecycles):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = admin_url(Agreement, "changelist")
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        body = admin_client.get(url).content.decode()
    assert "why a step is out of order" in body and "an official reference" in body and "any status" in body
    for n in range(10):
        agreement = AgreementFactory(title=f"More {n}")
        AgreementEventFactory(agreement=agreement, kind="signed")
    with CaptureQueriesContext(connection) as many:
        admin_client.get(url)
    assert len(few) == len(many)


def test_the_events_list_filters_on_lifecycle_order_and_reference(admin_client, lifecycles):
    url = admin_url(AgreementEvent, "changelist")
    unexplained = admin_client.get(url, {"order": "unexplained"}).context["cl"].result_list
    assert [(e.agreement.title, e.kind) for e in unexplained] == [("Skipped step", "operations_launched")]
    missing = admin_client.get(url, {"reference": "missing"}).context["cl"].result_list
    assert [e.agreement.title for e in missing] == ["No reference"]


def test_a_step_out_of_order_is_refused_in_the_admin_until_the_officer_says_why(admin_client):
    agreement = AgreementFactory()
    AgreementEventFactory(agreement=agreement, kind="signed", date=D(2022, 10, 1))
    source = SourceFactory()
    data = {
        "agreement": agreement.pk,
        "kind": "operations_launched",
        "date": "2023-04-01",
        "date_precision": "month",
        "source": source.pk,
        "official_reference": "",
        "transition_note": "",
        "version": 0,
    }
    url = admin_url(AgreementEvent, "add")
    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert "does not follow “Signed”" in refused.content.decode()
    assert agreement.events.count() == 1

    bad_reference = admin_client.post(
        url, {**data, "transition_note": "The source skips it.", "official_reference": "OJ 12"}
    )
    assert "Give a CELEX number" in bad_reference.content.decode()

    accepted = admin_client.post(url, {**data, "transition_note": "The source skips it."})
    assert accepted.status_code == 302, accepted.content.decode()[:2000]
    assert agreement.events.get(kind="operations_launched").transition_note == "The source skips it."


def test_recent_changes_include_lifecycle_events(admin_client):
    agreement = AgreementFactory(title="Changed agreement")
    step = AgreementEventFactory(agreement=agreement, kind="suspended", date=D(2024, 2, 1))
    step.official_reference = "32024D0001"
    step.save()
    response = admin_client.get(reverse("admin:recent-changes"), {"model": "agreements.agreementevent"})
    changes = response.context["changes"]
    assert changes and {c.model_label for c in changes} == {"agreements.agreementevent"}
    assert any(c.object_id == step.pk and c.action == "Changed" for c in changes)
