"""Fixtures for the REST API tests: clients (anonymous; staff by token, with or without model
permissions), a fresh cache per test (throttle counters live there), and each endpoint in turn."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.support import ENDPOINTS, Endpoint

_users = itertools.count(1)


@pytest.fixture(params=sorted(ENDPOINTS))
def endpoint(request) -> Endpoint:
    return ENDPOINTS[request.param]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached answers live in the cache: every test starts from none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_client(db, django_user_model):
    """``staff_client("funding.add_fundingrecord", ...)``: a staff account's token client."""

    def make(*perms: str, is_staff: bool = True) -> APIClient:
        user = django_user_model.objects.create_user(
            username=f"officer-{next(_users)}", password="not-used", is_staff=is_staff
        )
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        return client

    return make
