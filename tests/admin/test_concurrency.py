"""No lost edits: a save based on a stale copy is refused, says who saved and when, writes nothing."""

from __future__ import annotations

import pytest

from migrationsupport.models import Status
from tests.admin.conftest import admin_url, change_data
from tests.factories import FundingRecordFactory, RegionFactory

pytestmark = pytest.mark.django_db


def test_second_save_of_the_same_version_is_refused_and_changes_nothing(
    editor_client, publisher_client, publisher
):
    record = FundingRecordFactory(status=Status.DRAFT, title="Original", amount=100)
    region = RegionFactory(name="Sahel")
    url = admin_url(record, "change", record.pk)
    # Both officers open the record at the same version.
    paula_sees = change_data(record)
    erin_sees = change_data(record)

    response = publisher_client.post(url, {**paula_sees, "title": "Paula's title", "amount": "150"})
    assert response.status_code == 302
    record.refresh_from_db()
    saved_version = record.version

    response = editor_client.post(
        url, {**erin_sees, "title": "Erin's title", "amount": "120", "regions": [region.pk]}
    )
    assert response.status_code == 200
    content = response.content.decode()
    form = response.context["adminform"].form
    assert "Paula Publisher saved this record on" in content
    assert "Nothing was saved." in content
    conflict = {label: (theirs, yours) for label, theirs, yours in form.conflict}
    assert conflict["Title"] == ("Paula's title", "Erin's title")
    assert conflict["Amount (EUR)"] == ("150.00", "120")
    assert conflict["Regions"] == ("—", "Sahel")
    assert "Their values beside yours" in content

    record.refresh_from_db()
    assert (record.title, record.amount, record.version) == ("Paula's title", 150, saved_version)
    assert not record.regions.exists()
    assert record.history.latest().history_user == publisher


def test_saving_the_current_version_works_and_raises_it(editor_client):
    record = FundingRecordFactory(status=Status.DRAFT)
    version = record.version
    response = editor_client.post(admin_url(record, "change", record.pk), change_data(record, title="Fine"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.version == version + 1


def test_a_form_without_its_version_is_refused(editor_client):
    record = FundingRecordFactory(status=Status.DRAFT, title="Keep me")
    data = change_data(record, title="Blind write")
    del data["expected_version"]
    response = editor_client.post(admin_url(record, "change", record.pk), data)
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.title == "Keep me"


def test_stale_inline_part_is_refused(publisher_client, source):
    parent = FundingRecordFactory(status=Status.DRAFT, amount=100, source=source)
    child = FundingRecordFactory(status=Status.DRAFT, amount=10, parent=parent, source=source, title="Part")
    seen = child.version
    child.title = "Part edited elsewhere"
    child.save()
    data = change_data(
        parent,
        **{
            "children-TOTAL_FORMS": "1",
            "children-INITIAL_FORMS": "1",
            "children-0-id": child.pk,
            "children-0-parent": parent.pk,
            "children-0-title": "Part",
            "children-0-slug": child.slug,
            "children-0-kind": child.kind,
            "children-0-amount": "10",
            "children-0-qualifier": "exact",
            "children-0-source": source.pk,
            "children-0-expected_version": seen,
        },
    )
    response = publisher_client.post(admin_url(parent, "change", parent.pk), data)
    assert response.status_code == 200
    assert "while you were editing it" in response.content.decode()
    child.refresh_from_db()
    assert child.title == "Part edited elsewhere"


def test_change_form_carries_the_version_it_was_loaded_at(editor_client):
    record = FundingRecordFactory(status=Status.DRAFT)
    record.save()
    content = editor_client.get(admin_url(record, "change", record.pk)).content.decode()
    assert f'name="expected_version" value="{record.version}"' in content
