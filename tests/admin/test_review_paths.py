"""Review cannot be bypassed: every way an Editor can change a record, tried on a draft a Publisher
scheduled and on a published record. Whatever the path, nothing the Editor wrote becomes public,
neither at once nor when ``publish_due`` runs: the Editor's change cancels the schedule, or is
refused.

Each record is a part of a draft whole (so the whole's change form carries it as an inline row),
and its first version, an Editor's earlier draft, carries the unreviewed text (so a revert can
bring it back).
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from funding.models import FundingRecord
from migrationsupport import services
from migrationsupport.models import Status
from tests.admin.conftest import admin_url, change_data
from tests.admin.test_import_export import confirm, dry_run
from tests.factories import FundingRecordFactory

pytestmark = pytest.mark.django_db

UNREVIEWED = "UNREVIEWED text"
REVIEWED = "Reviewed text"


def _inline_row(record: FundingRecord, **overrides) -> dict:
    row = {
        "id": record.pk,
        "parent": record.parent_id,
        "title": record.title,
        "slug": record.slug,
        "kind": record.kind,
        "amount": str(record.amount),
        "qualifier": record.qualifier,
        "measure": record.measure,
        "source": record.source_id,
        "expected_version": record.version,
        **overrides,
    }
    return {f"children-0-{name}": value for name, value in row.items()}


def via_change_form(client, editor, record):
    client.post(admin_url(record, "change", record.pk), change_data(record, title=UNREVIEWED))


def via_inline_row(client, editor, record):
    whole = record.parent
    data = change_data(whole)
    data.update({"children-TOTAL_FORMS": "1", "children-INITIAL_FORMS": "1"})
    data.update(_inline_row(record, title=UNREVIEWED))
    client.post(admin_url(whole, "change", whole.pk), data)


def via_revert(client, editor, record):
    earlier = record.history.earliest()
    assert earlier.title == UNREVIEWED
    client.post(
        admin_url(record, "revert", record.pk, earlier.history_id), {"expected_version": record.version}
    )


def via_import(client, editor, record):
    preview = dry_run(client, FundingRecord, [{"slug": record.slug, "title": UNREVIEWED}])
    if preview.context.get("confirm_form") is not None:
        confirm(client, FundingRecord, preview)


def via_api(client, editor, record):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor).key}")
    api.patch(f"/api/v1/funding/{record.slug}/", {"title": UNREVIEWED}, format="json")


def via_bulk_action(client, editor, record):
    changelist = admin_url(FundingRecord, "changelist")
    for action in ("publish_selected", "unpublish_selected"):
        client.post(changelist, {"action": action, "_selected_action": [record.pk]})


def via_publish_button(client, editor, record):
    client.post(admin_url(record, "publish", record.pk), {"expected_version": record.version})


PATHS = {
    "change form": via_change_form,
    "inline row": via_inline_row,
    "revert": via_revert,
    "import": via_import,
    "api": via_api,
    "bulk action": via_bulk_action,
    "publish button": via_publish_button,
}


def _record(*, status: str, publish_at=None) -> FundingRecord:
    whole = FundingRecordFactory(status=Status.DRAFT, title="The whole", amount=10_000_000)
    record = FundingRecordFactory.create(
        status=Status.DRAFT, parent=whole, title=UNREVIEWED, amount=1_000_000
    )
    # A Publisher reviews the Editor's first draft and rewrites it, then schedules or publishes it.
    record.title, record.status, record.publish_at = REVIEWED, status, publish_at
    record.save()
    return record


def _public_titles() -> list[str]:
    return list(FundingRecord.objects.published().values_list("title", flat=True))


@pytest.mark.parametrize("path", PATHS)
def test_an_editor_cannot_get_unreviewed_text_published_on_schedule(path, editor, editor_client):
    record = _record(status=Status.DRAFT, publish_at=timezone.now() + datetime.timedelta(hours=1))

    PATHS[path](editor_client, editor, record)

    record.refresh_from_db()
    assert record.status == Status.DRAFT
    if record.title == UNREVIEWED:  # the change went through: then the schedule is gone
        assert record.publish_at is None
    services.publish_due(now=timezone.now() + datetime.timedelta(days=1))
    assert UNREVIEWED not in _public_titles()


@pytest.mark.parametrize("path", PATHS)
def test_an_editor_cannot_change_what_the_public_sees(path, editor, editor_client):
    record = _record(status=Status.PUBLISHED)

    PATHS[path](editor_client, editor, record)

    record.refresh_from_db()
    assert (record.status, record.title) == (Status.PUBLISHED, REVIEWED)
    assert UNREVIEWED not in _public_titles()


def test_the_matrix_would_see_a_bypass(editor, editor_client):
    """The scheduled case does change the record on the paths open to an Editor, so the matrix
    above tests the schedule's cancellation, not a refusal that hides it."""
    changed = []
    for name in ("change form", "inline row", "revert", "import", "api"):
        record = _record(status=Status.DRAFT, publish_at=timezone.now() + datetime.timedelta(hours=1))
        PATHS[name](editor_client, editor, record)
        record.refresh_from_db()
        if record.title == UNREVIEWED and record.publish_at is None:
            changed.append(name)
    assert changed == ["change form", "inline row", "revert", "import", "api"]


def test_an_agreement_event_changed_inline_loses_its_schedule(editor_client):
    from tests.factories import AgreementEventFactory, AgreementFactory

    agreement = AgreementFactory(status=Status.DRAFT)
    event = AgreementEventFactory(
        agreement=agreement, status=Status.DRAFT, publish_at=timezone.now() + datetime.timedelta(hours=1)
    )
    data = {
        "title": agreement.title,
        "slug": agreement.slug,
        "kind": agreement.kind,
        "source": agreement.source_id,
        "expected_version": agreement.version,
        "events-TOTAL_FORMS": "1",
        "events-INITIAL_FORMS": "1",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
        "events-0-id": event.pk,
        "events-0-agreement": agreement.pk,
        "events-0-kind": event.kind,
        "events-0-date": event.date.isoformat(),
        "events-0-date_precision": event.date_precision,
        "events-0-description": UNREVIEWED,
        "events-0-source": event.source_id,
        "events-0-expected_version": event.version,
    }
    response = editor_client.post(admin_url(agreement, "change", agreement.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event.refresh_from_db()
    assert (event.description, event.publish_at) == (UNREVIEWED, None)
    assert event.history.latest().history_user.username == "erin"
