"""Production settings, security headers and the admin login lockout (django-axes)."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parents[2]
LOGIN = "/admin/login/"


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DJANGO_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="migration.example.eu",
        DATABASE_URL="postgres://app@db.example.eu:5432/migrationsupport",
        **extra,
    )
    return env


@pytest.mark.parametrize("proxy", ["0", "1"], ids=["direct", "behind-tls-proxy"])
def test_deploy_check_passes_with_no_warning_under_production_settings(proxy):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_production_env(BEHIND_TLS_PROXY=proxy),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_refuses_to_start_without_a_secret_key():
    env = _production_env()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


# --- Headers -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/funding/", "/api/v1/funding/", "/api/docs/", "/api/redoc/", "/healthz", "/no-such-page/"]
)
def test_security_headers_on_every_answer(client, path):
    response = client.get(path)
    assert response.status_code < 500
    csp = dict(
        [*directive.split(" ", 1), ""][:2] for directive in response["Content-Security-Policy"].split("; ")
    )
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response  # plain HTTP: HSTS means nothing here


@pytest.mark.django_db
def test_hsts_over_https(client):
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_except_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/funding/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/funding/"
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_behind_the_proxy_forwarded_https_counts_as_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" in response


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_and_http_only(client, django_user_model):
    django_user_model.objects.create_user("officer", password="right-password-123", is_staff=True)
    login_page = client.get(LOGIN)
    csrf = login_page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"]
    response = client.post(
        LOGIN, {"username": "officer", "password": "right-password-123", "next": "/admin/"}
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"


# --- Login lockout -----------------------------------------------------------------------------


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("officer", password="right-password-123", is_staff=True)


def _login(client, username: str, password: str, address: str = "192.0.2.10"):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


def _fail(client, times: int, username: str = "officer", address: str = "192.0.2.10") -> None:
    for _ in range(times):
        response = _login(client, username, "wrong-password", address)
        assert response.status_code in (200, 429)


@pytest.mark.django_db
def test_four_failures_then_the_right_password_logs_in(client, officer):
    _fail(client, 4)
    response = _login(client, "officer", "right-password-123")
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="officer").exists()  # reset on success


@pytest.mark.django_db
def test_five_failures_lock_the_account_even_for_the_right_password(client, officer, caplog):
    with caplog.at_level(logging.WARNING, logger="axes"):
        _fail(client, 5)
    assert any("Locking out" in record.getMessage() for record in caplog.records)
    response = _login(client, "officer", "right-password-123")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # The account is locked from any address, and the address for any account.
    assert _login(client, "officer", "right-password-123", address="198.51.100.7").status_code == 429
    other = type(officer).objects.create_user("other", password="right-password-456", is_staff=True)
    assert _login(client, other.username, "right-password-456").status_code == 429


@pytest.mark.django_db
def test_failure_limit_is_configurable(client, officer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    _fail(client, 2)
    assert _login(client, "officer", "right-password-123").status_code == 429


@pytest.mark.django_db
def test_lockout_ends_after_the_cool_off(client, officer, settings):
    import datetime

    _fail(client, 5)
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(datetime.UTC) - settings.AXES_COOLOFF_TIME
    )
    assert _login(client, "officer", "right-password-123").status_code == 302


@pytest.mark.django_db
def test_axes_reset_command_lifts_the_lockout(client, officer):
    _fail(client, 5)
    call_command("axes_reset", verbosity=0)
    assert _login(client, "officer", "right-password-123").status_code == 302


@pytest.mark.django_db
def test_a_superuser_lifts_the_lockout_in_the_admin(client, officer, admin_client):
    _fail(client, 5)
    attempts = AccessAttempt.objects.all()
    assert attempts.exists()
    changelist = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200
    assert b"officer" in changelist.content
    response = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [a.pk for a in attempts], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert _login(client, "officer", "right-password-123").status_code == 302


@pytest.mark.django_db
def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(client, officer, settings):
    settings.AXES_NUM_PROXIES = 1
    for spoofed in range(5):  # a client rotating its own X-Forwarded-For does not dodge the lockout
        client.post(
            LOGIN,
            {"username": f"nobody-{spoofed}", "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{spoofed}, 192.0.2.99",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.99"}
