"""Pledges followed through on the pages, in the API and in the admin."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from funding.models import Fulfilment, FundingRecord
from migrationsupport.models import Status
from tests.admin.conftest import admin_url
from tests.factories import FulfilmentFactory, FundingRecordFactory, PledgingConferenceFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", "correct horse battery")


@pytest.fixture
def pledged():
    """A conference's pledge, committed in part, paid in part; and a pledge with nothing."""
    conference = PledgingConferenceFactory(slug="brussels", date=datetime.date(2024, 5, 27))
    pledge = FundingRecordFactory(
        slug="pledge", measure="pledged", amount=Decimal("1000"), donor="eu", conference=conference
    )
    commitment = FundingRecordFactory(
        slug="commitment",
        measure="committed",
        amount=Decimal("400"),
        donor="eu",
        period_start=datetime.date(2024, 10, 1),
        period_start_precision="month",
    )
    payment = FundingRecordFactory(slug="payment", measure="paid", amount=Decimal("100"), donor="eu")
    source = SourceFactory(title="Commission decision C(2024) 1")
    FulfilmentFactory(fulfilled=pledge, fulfilling=commitment, source=source)
    FulfilmentFactory(fulfilled=commitment, fulfilling=payment, source=None)  # no source yet
    FulfilmentFactory(
        fulfilled=pledge,
        fulfilling=FundingRecordFactory(slug="draft-commitment", measure="committed"),
        status=Status.DRAFT,
    )
    lonely = FundingRecordFactory(slug="lonely", measure="pledged", amount=Decimal("50"), donor="eu")
    return {"conference": conference, "pledge": pledge, "commitment": commitment, "lonely": lonely}


def test_a_pledge_page_shows_pledged_committed_paid_with_dates_shares_and_sources(client, pledged):
    html = client.get("/funding/pledge/").content.decode()
    assert "Follow-through" in html
    assert "€400" in html and "40\u00a0%" in html and "10\u00a0%" in html
    assert "October 2024" in html and "27 May 2024" in html
    assert "Commission decision C(2024) 1" in html
    assert "No follow-up reported" not in html
    assert "draft-commitment" not in html


def test_a_pledge_without_follow_up_says_so_never_zero(client, pledged):
    html = client.get("/funding/lonely/").content.decode()
    assert "No follow-up reported" in html
    assert "0\u00a0%" not in html and "0 %" not in html


def test_a_commitment_page_says_what_it_fulfils_and_what_was_paid(client, pledged):
    html = client.get("/funding/commitment/").content.decode()
    assert "What this figure fulfils" in html and 'href="/funding/pledge/"' in html
    assert "25\u00a0%" in html  # €100 paid of the €400 committed


def test_the_conference_page_follows_its_pledges(client, pledged):
    html = client.get("/conferences/brussels/").content.decode()
    assert "Follow-through" in html and "40\u00a0%" in html


def test_donor_pages(client, pledged):
    listing = client.get("/donors/").content.decode()
    assert reverse("funding:donor-detail", args=["eu"]) in listing
    html = client.get("/donors/eu/").content.decode()
    assert "Pledged by the European Union" in html
    assert "Committed or allocated by the European Union" in html
    assert "Paid by the European Union" in html
    assert "Its pledges, followed through" in html
    assert client.get("/donors/nobody/").status_code == 404
    commission = client.get("/donors/european_commission/").content.decode()
    assert "No pledge by the European Commission is published." in commission


def test_the_api_exposes_the_links_and_the_figures(client, pledged):
    record = client.get("/api/v1/funding/pledge/").json()
    assert record["fulfilled_by"] == ["commitment"]
    assert record["fulfils"] == []
    assert record["follow_through_url"].endswith("/api/v1/funding/pledge/follow-through/")
    assert client.get("/api/v1/funding/commitment/").json()["fulfils"] == ["pledge"]
    assert client.get("/api/v1/funding/payment/").json()["follow_through_url"] is None

    figures = client.get("/api/v1/funding/pledge/follow-through/").json()
    assert figures["reported"] is True and figures["shared"] is False
    assert figures["promised_as_of"] == "2024-05-27"
    committed, paid = figures["stages"]
    assert (committed["measure"], committed["totals"][0]["lower"]) == ("committed", 400.0)
    assert committed["share"] == {"percent": 40, "qualifier": "exact", "percent_display": "40\u00a0%"}
    assert committed["as_of"] == "2024-10" and committed["as_of_display"] == "October 2024"
    assert (paid["measure"], paid["share"]["percent"]) == ("paid", 10)
    assert "Commission decision C(2024) 1" in [s["title"] for s in figures["sources"]]

    nothing = client.get("/api/v1/funding/lonely/follow-through/").json()
    assert nothing["reported"] is False and nothing["stages"] == []
    assert client.get("/api/v1/funding/payment/follow-through/").status_code == 404

    conference = client.get("/api/v1/conferences/brussels/").json()
    assert conference["follow_through_url"].endswith("/api/v1/conferences/brussels/follow-through/")
    assert client.get(conference["follow_through_url"]).json()["stages"][0]["share"]["percent"] == 40


def test_the_api_hides_draft_links(client, pledged):
    FundingRecord.objects.filter(slug="commitment").update(status=Status.DRAFT)
    assert client.get("/api/v1/funding/pledge/").json()["fulfilled_by"] == []
    assert client.get("/api/v1/funding/pledge/follow-through/").json()["reported"] is False


def test_the_admin_lists_pledges_to_chase_and_links_without_source(client, superuser, pledged):
    old = FundingRecordFactory(
        title="Old pledge",
        measure="pledged",
        period_start=datetime.date(2020, 1, 1),
        period_start_precision="year",
    )
    client.force_login(superuser)
    overdue = client.get(admin_url(FundingRecord, "changelist") + "?follow_up=overdue").content.decode()
    assert "Old pledge" in overdue
    assert pledged["pledge"].title not in overdue  # it has follow-up
    unsourced = client.get(admin_url(FundingRecord, "changelist") + "?follow_up=unsourced").content.decode()
    assert pledged["commitment"].title in unsourced and "Old pledge" not in unsourced
    links = client.get(admin_url(Fulfilment, "changelist") + "?source_missing=yes")
    assert links.status_code == 200
    change = client.get(admin_url(FundingRecord, "change", old.pk)).content.decode()
    assert "No published follow-up, more than 12 months after the pledge." in change
    assert "Follow-up reported against it</a> (0)" in change
