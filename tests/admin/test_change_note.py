"""The public change note: typed by the officer in the change form, shown to readers with the
change and with nothing else of the save (not the history's own reason)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from migrationsupport import services
from migrationsupport.models import PublicChange
from tests.admin.conftest import change_data
from tests.factories import FundingRecordFactory, RegionFactory

pytestmark = pytest.mark.django_db


def test_the_public_note_of_a_save_and_its_links_reaches_readers(publisher_client, client):
    record = FundingRecordFactory(title="Border support")
    region = RegionFactory(name="Sahel")
    url = reverse("admin:funding_fundingrecord_change", args=[record.pk])
    response = publisher_client.post(
        url,
        change_data(
            record,
            title="Border support, corrected",
            regions=[region.pk],
            public_change_note="Title as the source has it",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rows = PublicChange.objects.filter(
        object_id=record.pk, model_label="funding.fundingrecord", kind="changed"
    )
    assert set(rows.values_list("note", flat=True)) == {"Title as the source has it"}
    page = client.get(record.get_absolute_url()).content.decode()
    changes = page[page.index('id="record-changes-title"') :]
    # One change for the save and its regions: one note, both fields.
    assert changes.count("Title as the source has it") == 1
    assert "Border support, corrected" in changes and "Sahel" in changes


def test_a_save_without_a_note_shows_none_and_never_the_history_reason(publisher_client, client):
    record = FundingRecordFactory()
    url = reverse("admin:funding_fundingrecord_change", args=[record.pk])
    publisher_client.post(url, change_data(record, title="Renamed"))
    record.refresh_from_db()
    first = record.history.order_by("history_id").first()
    services.revert(instance=record, record=first, user=None)  # its history reason: "Reverted to ..."
    assert set(
        PublicChange.objects.filter(object_id=record.pk, kind="changed").values_list("note", flat=True)
    ) == {""}
    page = client.get(record.get_absolute_url()).content.decode()
    assert "Reverted to" not in page
    assert "Renamed" in page[page.index('id="record-changes-title"') :]
