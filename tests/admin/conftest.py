"""Officers for the admin tests: an Editor, a Publisher, a superuser, each with a logged-in client."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse


def admin_url(model_or_obj, view: str, *args) -> str:
    opts = model_or_obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def make_officer(db, django_user_model):
    def make(username: str, role: str | None, **extra):
        user = django_user_model.objects.create_user(
            username, password="correct horse battery staple", is_staff=True, **extra
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def editor(make_officer):
    return make_officer("erin", "Editor", first_name="Erin", last_name="Editor")


@pytest.fixture
def publisher(make_officer):
    return make_officer("paula", "Publisher", first_name="Paula", last_name="Publisher")


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", "correct horse battery")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def editor_client(editor):
    return _client_for(editor)


@pytest.fixture
def publisher_client(publisher):
    return _client_for(publisher)


@pytest.fixture
def superuser_client(superuser):
    return _client_for(superuser)


@pytest.fixture
def clients(editor_client, publisher_client, superuser_client):
    """Every kind of visitor, by name, for the permission matrix."""
    return {
        "anonymous": Client(),
        "editor": editor_client,
        "publisher": publisher_client,
        "superuser": superuser_client,
    }


def change_data(obj, **overrides) -> dict:
    """The POST body of a funding record's change form, as the admin renders it."""
    data = {
        "title": obj.title,
        "slug": obj.slug,
        "kind": obj.kind,
        "description": obj.description,
        "amount": "" if obj.amount is None else str(obj.amount),
        "qualifier": obj.qualifier,
        "wording": obj.wording,
        "measure": obj.measure,
        "source_passage": obj.source_passage,
        "may_overlap": [o.pk for o in obj.may_overlap.all()] if obj.pk else [],
        "period_start": obj.period_start.isoformat() if obj.period_start else "",
        "period_start_precision": obj.period_start_precision,
        "period_end": obj.period_end.isoformat() if obj.period_end else "",
        "period_end_precision": obj.period_end_precision,
        "donor": obj.donor,
        "implementer": obj.implementer,
        "instrument": obj.instrument_id or "",
        "conference": obj.conference_id or "",
        "regions": [r.pk for r in obj.regions.all()] if obj.pk else [],
        "countries": [c.pk for c in obj.countries.all()] if obj.pk else [],
        "themes": [t.pk for t in obj.themes.all()] if obj.pk else [],
        "parent": obj.parent_id or "",
        "source": obj.source_id,
        "publish_at": "",
        "expected_version": obj.version,
        "children-TOTAL_FORMS": "0",
        "children-INITIAL_FORMS": "0",
        "children-MIN_NUM_FORMS": "0",
        "children-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
