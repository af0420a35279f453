"""The Editor and Publisher roles exist after migrate and after flush; create_officer makes
officers with a role."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from migrationsupport import roles, services

pytestmark = pytest.mark.django_db


def _codenames(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


def _assert_the_roles() -> None:
    editor, publisher = _codenames("Editor"), _codenames("Publisher")
    for model in services.publishable_models():
        name = model._meta.model_name
        assert {f"view_{name}", f"add_{name}", f"change_{name}"} <= editor, name
        assert not {f"delete_{name}", f"publish_{name}"} & editor, name
        assert {
            f"view_{name}",
            f"add_{name}",
            f"change_{name}",
            f"delete_{name}",
            f"publish_{name}",
        } <= publisher
    # Nothing about accounts, roles or history tables.
    assert not {c for c in editor | publisher if c.endswith(("_user", "_group", "_permission"))}
    assert not {c for c in editor | publisher if "historical" in c}


def test_roles_exist_after_migrate_with_their_permissions():
    _assert_the_roles()


@pytest.mark.django_db(transaction=True)
def test_roles_exist_again_after_a_flush():
    """``flush`` empties every table, the roles' included, and sends ``post_migrate``, which
    grants them again: a transactional test ends with a flush, and a later test in the same
    process (``make test`` runs two, pytest-xdist) still finds the roles, the same as migrate made."""
    before = {role: _codenames(role) for role in roles.ROLES}
    call_command("flush", interactive=False, verbosity=0)
    _assert_the_roles()
    assert {role: _codenames(role) for role in roles.ROLES} == before


def test_granting_the_roles_again_writes_nothing():
    groups, grants = Group.objects.count(), Group.permissions.through.objects.count()
    permissions = Permission.objects.count()
    with CaptureQueriesContext(connection) as queries:
        roles.grant(apps, services.publishable_models(), using="default")
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert (Group.objects.count(), Group.permissions.through.objects.count()) == (groups, grants)
    assert Permission.objects.count() == permissions
    _assert_the_roles()


def test_every_publish_permission_names_publish():
    for model in services.publishable_models():
        assert "publish" in services.publish_permission(model)


def test_create_officer_makes_a_staff_editor(django_user_model, monkeypatch):
    monkeypatch.setenv("OFFICER_PASSWORD", "a long enough passphrase")
    call_command("create_officer", "maria", "--role", "editor", "--email", "maria@example.org", "--no-input")
    user = django_user_model.objects.get(username="maria")
    assert user.is_staff and not user.is_superuser
    assert user.email == "maria@example.org"
    assert user.check_password("a long enough passphrase")
    assert list(user.groups.values_list("name", flat=True)) == ["Editor"]
    assert not services.can_publish(user, services.publishable_models()[0])


def test_create_officer_again_switches_the_role(django_user_model):
    call_command("create_officer", "maria", "--role", "editor", "--password", "a long enough passphrase")
    call_command("create_officer", "maria", "--role", "publisher", "--no-input")
    user = django_user_model.objects.get(username="maria")
    assert list(user.groups.values_list("name", flat=True)) == ["Publisher"]
    assert user.check_password("a long enough passphrase")
    from funding.models import FundingRecord

    assert services.can_publish(user, FundingRecord)


def test_create_officer_refuses_a_weak_or_missing_password(django_user_model, monkeypatch):
    monkeypatch.delenv("OFFICER_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="too weak"):
        call_command("create_officer", "maria", "--role", "editor", "--password", "123")
    with pytest.raises(CommandError, match="OFFICER_PASSWORD"):
        call_command("create_officer", "maria", "--role", "editor", "--no-input")
    assert not django_user_model.objects.filter(username="maria").exists()


def test_create_officer_prompts_for_the_password(django_user_model, monkeypatch):
    monkeypatch.delenv("OFFICER_PASSWORD", raising=False)
    answers = iter(["a long enough passphrase", "a long enough passphrase"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("create_officer", "maria", "--role", "publisher")
    assert django_user_model.objects.get(username="maria").check_password("a long enough passphrase")


def test_create_officer_rejects_an_unknown_role():
    with pytest.raises(CommandError):
        call_command("create_officer", "maria", "--role", "admin", "--password", "a long enough passphrase")
