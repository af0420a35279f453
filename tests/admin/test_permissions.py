"""Who may do what in the admin: anonymous, Editor, Publisher and superuser, action by action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from funding.models import FundingRecord
from migrationsupport.models import Status
from tests.admin.conftest import admin_url, change_data
from tests.factories import FundingRecordFactory

pytestmark = pytest.mark.django_db


def _expect(response, expected: str, role: str):
    """``ok`` (200 or a redirect inside the admin), ``login`` (to the login page), ``denied`` (403)."""
    location = response.headers.get("Location", "")
    if expected == "login":
        assert response.status_code == 302 and "/login/" in location, (role, response.status_code, location)
    elif expected == "denied":
        assert response.status_code == 403, (role, response.status_code)
    elif expected == "not found":
        assert response.status_code == 404, (role, response.status_code)
    else:
        assert response.status_code in (200, 302) and "/login/" not in location, (role, response.status_code)


@pytest.fixture
def draft(db):
    return FundingRecordFactory(status=Status.DRAFT, title="Draft figure")


@pytest.fixture
def published(db):
    return FundingRecordFactory(status=Status.PUBLISHED, title="Published figure")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "login"), ("editor", "ok"), ("publisher", "ok"), ("superuser", "ok")],
)
def test_changelist_add_and_history_pages(clients, draft, role, expected):
    client = clients[role]
    for url in (
        admin_url(FundingRecord, "changelist"),
        admin_url(FundingRecord, "add"),
        admin_url(draft, "change", draft.pk),
        admin_url(draft, "history", draft.pk),
        reverse("admin:recent-changes"),
        admin_url(FundingRecord, "import"),
        admin_url(FundingRecord, "export"),
    ):
        _expect(client.get(url), expected, role)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "login"), ("editor", "ok"), ("publisher", "ok"), ("superuser", "ok")],
)
def test_add_creates_a_draft_whatever_the_form_says(clients, source, role, expected):
    data = change_data(
        FundingRecord(title="New", slug="new", source=source),
        status="published",
        expected_version=None,
    )
    response = clients[role].post(admin_url(FundingRecord, "add"), data)
    _expect(response, expected, role)
    if expected == "ok":
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert FundingRecord.objects.get(slug="new").status == Status.DRAFT
    else:
        assert not FundingRecord.objects.exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "login"), ("editor", "ok"), ("publisher", "ok"), ("superuser", "ok")],
)
def test_change_a_draft(clients, draft, role, expected):
    response = clients[role].post(admin_url(draft, "change", draft.pk), change_data(draft, title="Renamed"))
    _expect(response, expected, role)
    draft.refresh_from_db()
    assert (draft.title == "Renamed") == (expected == "ok")
    assert draft.status == Status.DRAFT  # saving never publishes


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "login"), ("editor", "denied"), ("publisher", "ok"), ("superuser", "ok")],
)
def test_change_a_published_record(clients, published, role, expected):
    response = clients[role].post(
        admin_url(published, "change", published.pk), change_data(published, title="Renamed")
    )
    _expect(response, expected, role)
    published.refresh_from_db()
    assert (published.title == "Renamed") == (expected == "ok")
    assert published.status == Status.PUBLISHED  # a Publisher's edit keeps it published


def test_editor_sees_a_published_record_read_only(editor_client, published):
    response = editor_client.get(admin_url(published, "change", published.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Only a Publisher can change it" in content
    assert 'name="title"' not in content  # view-only page: no inputs
    assert "Publish" not in [b.strip() for b in content.split(">")]  # no publishing buttons


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "login"), ("editor", "denied"), ("publisher", "ok"), ("superuser", "ok")],
)
def test_publish_and_unpublish_buttons(clients, draft, role, expected):
    client = clients[role]
    response = client.post(admin_url(draft, "publish", draft.pk), {"expected_version": draft.version})
    _expect(response, expected, role)
    draft.refresh_from_db()
    assert draft.is_published == (expected == "ok")
    if expected == "ok":
        response = client.post(admin_url(draft, "unpublish", draft.pk), {"expected_version": draft.version})
        _expect(response, expected, role)
        draft.refresh_from_db()
        assert draft.status == Status.DRAFT


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("anonymous", False), ("editor", False), ("publisher", True), ("superuser", True)],
)
def test_publish_and_unpublish_actions(clients, draft, published, role, allowed):
    client = clients[role]
    url = admin_url(FundingRecord, "changelist")
    client.post(url, {"action": "publish_selected", "_selected_action": [draft.pk]})
    client.post(url, {"action": "unpublish_selected", "_selected_action": [published.pk]})
    draft.refresh_from_db()
    published.refresh_from_db()
    assert draft.is_published == allowed
    assert published.is_published == (not allowed)


def test_publishing_actions_are_offered_to_publishers_only(editor_client, publisher_client, draft):
    url = admin_url(FundingRecord, "changelist")
    editor_form = editor_client.get(url).context["action_form"]
    editor_actions = dict(editor_form.fields["action"].choices) if editor_form else {}
    publisher_actions = dict(publisher_client.get(url).context["action_form"].fields["action"].choices)
    assert "publish_selected" not in editor_actions and "unpublish_selected" not in editor_actions
    assert "delete_selected" not in editor_actions
    assert {"publish_selected", "unpublish_selected", "delete_selected"} <= set(publisher_actions)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "login"), ("editor", "denied"), ("publisher", "ok"), ("superuser", "ok")],
)
@pytest.mark.parametrize("state", ["draft", "published"])
def test_delete(clients, request, role, expected, state):
    record = request.getfixturevalue(state)
    response = clients[role].post(admin_url(record, "delete", record.pk), {"post": "yes"})
    _expect(response, expected, role)
    assert FundingRecord.objects.filter(pk=record.pk).exists() == (expected != "ok")


def test_bulk_delete_is_not_available_to_editors(editor_client, published):
    editor_client.post(
        admin_url(FundingRecord, "changelist"),
        {"action": "delete_selected", "_selected_action": [published.pk], "post": "yes"},
    )
    assert FundingRecord.objects.filter(pk=published.pk).exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "login"), ("editor", "denied"), ("publisher", "denied"), ("superuser", "ok")],
)
def test_only_superusers_reach_users_and_groups(clients, role, expected):
    for model in (User, Group):
        _expect(clients[role].get(admin_url(model, "changelist")), expected, role)
        _expect(clients[role].get(admin_url(model, "add")), expected, role)


def test_even_a_granted_auth_permission_does_not_open_user_admin(editor, editor_client):
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    assert editor_client.get(admin_url(User, "changelist")).status_code == 403
    index = editor_client.get(reverse("admin:index")).content.decode()
    assert "/admin/auth/user/" not in index


def test_index_lists_records_but_not_auth_for_officers(editor_client, superuser_client):
    editor_index = editor_client.get(reverse("admin:index")).content.decode()
    assert "/admin/funding/fundingrecord/" in editor_index
    assert "/admin/auth/" not in editor_index
    assert reverse("admin:recent-changes") in editor_index
    assert "/admin/auth/user/" in superuser_client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "not found"), ("editor", "ok"), ("publisher", "ok"), ("superuser", "ok")],
)
def test_preview_is_for_staff_only(clients, draft, role, expected):
    _expect(clients[role].get(admin_url(draft, "preview", draft.pk)), expected, role)


def test_preview_is_not_found_for_staff_without_a_role(make_officer, draft):
    client = Client()
    client.force_login(make_officer("nobody", None))
    assert client.get(admin_url(draft, "preview", draft.pk)).status_code == 404


@pytest.mark.parametrize(
    ("role", "state", "expected"),
    [
        ("anonymous", "draft", "login"),
        ("editor", "draft", "ok"),
        ("editor", "published", "denied"),
        ("publisher", "published", "ok"),
    ],
)
def test_revert(clients, request, role, state, expected):
    record = request.getfixturevalue(state)
    record.title = "Changed"
    record.save()
    first = record.history.earliest()
    response = clients[role].post(
        admin_url(record, "revert", record.pk, first.history_id), {"expected_version": record.version}
    )
    _expect(response, expected, role)
    record.refresh_from_db()
    assert (record.title != "Changed") == (expected == "ok")


def test_editor_cannot_schedule_publication(editor_client, draft):
    response = editor_client.post(
        admin_url(draft, "change", draft.pk), change_data(draft, publish_at="2020-01-01 00:00:00")
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.publish_at is None


def test_publisher_can_schedule_publication(publisher_client, draft):
    response = publisher_client.post(
        admin_url(draft, "change", draft.pk),
        change_data(draft, publish_at_0="2030-01-01", publish_at_1="09:00:00", publish_at=None),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    draft.refresh_from_db()
    assert draft.publish_at is not None and draft.status == Status.DRAFT


def test_editor_cannot_change_a_published_part_inline(editor_client, source):
    parent = FundingRecordFactory(status=Status.DRAFT, amount=100, source=source)
    child = FundingRecordFactory(status=Status.PUBLISHED, amount=10, parent=parent, source=source)
    data = change_data(
        parent,
        **{
            "children-TOTAL_FORMS": "1",
            "children-INITIAL_FORMS": "1",
            "children-0-id": child.pk,
            "children-0-parent": parent.pk,
            "children-0-title": "Changed inline",
            "children-0-slug": child.slug,
            "children-0-kind": child.kind,
            "children-0-amount": "10",
            "children-0-qualifier": "exact",
            "children-0-source": source.pk,
            "children-0-expected_version": child.version,
        },
    )
    response = editor_client.post(admin_url(parent, "change", parent.pk), data)
    assert response.status_code == 200
    assert "is published: only a Publisher can change it" in response.content.decode()
    child.refresh_from_db()
    assert child.title != "Changed inline"


def test_a_role_less_staff_user_sees_nothing(make_officer):
    FundingRecordFactory()
    client = Client()
    client.force_login(make_officer("nobody", None))
    assert client.get(admin_url(FundingRecord, "changelist")).status_code == 403
    # The recent changes page answers, listing only record types the officer may see: none.
    response = client.get(reverse("admin:recent-changes"))
    assert response.status_code == 200 and response.context["changes"] == []
