"""What an attacker with an Editor account, an API token and an anonymous browser tried and could
not do (issue 14), kept as regression tests. XSS payloads in every text field are in test_xss.py,
the login lockout's basics in test_security.py, review bypasses in tests/admin/test_review_paths.py.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from funding.models import FundingRecord
from migrationsupport.models import Status
from tests.factories import AgreementFactory, CountryFactory, FundingRecordFactory, RegionFactory
from tests.reliability.test_security import _login, officer  # noqa: F401

pytestmark = pytest.mark.django_db


# --- A draft is as unknown as a record that does not exist ---------------------------------------


def _same_404(client, draft_url: str, missing_url: str) -> None:
    draft, missing = client.get(draft_url), client.get(missing_url)
    assert draft.status_code == missing.status_code == 404
    # Same body once the address itself is taken out, same headers that could tell them apart.
    draft_path, missing_path = urlsplit(draft_url).path, urlsplit(missing_url).path
    assert draft.content.replace(draft_path.encode(), b"") == missing.content.replace(
        missing_path.encode(), b""
    )
    for header in ("Content-Type", "Content-Length", "Cache-Control"):
        assert draft.get(header) == missing.get(header), header
    for body in (draft.content, missing.content):
        assert b"Secret draft" not in body


def test_a_draft_answers_exactly_like_a_record_that_does_not_exist(client):
    region = RegionFactory(slug="draft-region", name="Secret draft", status=Status.DRAFT)
    country = CountryFactory(iso_code="QZ", name="Secret draft", status=Status.DRAFT, region=region)
    record = FundingRecordFactory(slug="draft-record", title="Secret draft", status=Status.DRAFT)
    agreement = AgreementFactory(slug="draft-agreement", title="Secret draft", status=Status.DRAFT)
    for draft in (region, country, record, agreement):
        url = draft.get_absolute_url()
        _same_404(client, url, url.replace(url.rstrip("/").rsplit("/", 1)[1], "zz-missing"))
    for endpoint, slug in (
        ("regions", "draft-region"),
        ("funding", "draft-record"),
        ("agreements", "draft-agreement"),
    ):
        _same_404(client, f"/api/v1/{endpoint}/{slug}/", f"/api/v1/{endpoint}/zz-missing/")


# --- Editors cannot publish or schedule through the API ------------------------------------------


@pytest.mark.parametrize(
    "change", [{"status": "published"}, {"publish_at": "2030-01-01T00:00:00Z"}], ids=["status", "publish_at"]
)
def test_an_editor_token_cannot_publish_or_schedule(editor, change):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor).key}")
    record = FundingRecordFactory(slug="draft", status=Status.DRAFT)
    assert api.patch("/api/v1/funding/draft/", change, format="json").status_code == 403
    body = {"slug": "new-one", "title": "New", "source": record.source.slug, **change}
    assert api.post("/api/v1/funding/", body, format="json").status_code == 403
    record.refresh_from_db()
    assert (record.status, record.publish_at) == (Status.DRAFT, None)
    assert not FundingRecord.objects.filter(slug="new-one").exists()


# --- CSRF ------------------------------------------------------------------------------------------


def test_admin_actions_and_session_api_writes_need_the_csrf_token(publisher):
    record = FundingRecordFactory(slug="draft", status=Status.DRAFT, title="Old")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(publisher)

    changelist = reverse("admin:funding_fundingrecord_changelist")
    action = {"action": "publish_selected", "_selected_action": [record.pk]}
    assert browser.post(changelist, action).status_code == 403
    publish = reverse("admin:funding_fundingrecord_publish", args=[record.pk])
    assert browser.post(publish, {"expected_version": record.version}).status_code == 403
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(publisher)
    assert api.patch("/api/v1/funding/draft/", {"title": "New"}, format="json").status_code == 403

    record.refresh_from_db()
    assert (record.status, record.title) == (Status.DRAFT, "Old")


# --- SQL in ordering and filters -----------------------------------------------------------------

SQL = [
    "title; DROP TABLE funding_fundingrecord; --",
    "1' OR '1'='1",
    "amount) UNION SELECT password FROM auth_user --",
]


@pytest.mark.parametrize("payload", SQL)
def test_sql_in_ordering_and_filters_is_plain_text(client, payload):
    FundingRecordFactory(title="Kept")
    answers = [
        client.get("/api/v1/funding/", {"ordering": payload}),
        client.get("/api/v1/funding/", {"search": payload}),
        client.get("/api/v1/funding/", {"region": payload, "kind": payload}),
        client.get("/funding/", {"sort": payload, "region": payload, "q": payload}),
        client.get("/search/", {"q": payload}),
    ]
    assert all(answer.status_code in (200, 400) for answer in answers), [a.status_code for a in answers]
    assert FundingRecord.objects.filter(title="Kept").exists()
    assert all(
        b"password" not in answer.content.lower().replace(b"union select password", b"") for answer in answers
    )


# --- Redirects after login go nowhere else ------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "https:evil.example", " //evil.example"],
)
def test_login_never_redirects_to_another_site(client, officer, target):  # noqa: F811
    response = client.post(
        "/admin/login/", {"username": "officer", "password": "right-password-123", "next": target}
    )
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc in ("", "testserver") and "evil" not in response["Location"]


# --- Sizes ---------------------------------------------------------------------------------------


def test_page_size_is_capped_at_100(client):
    source = FundingRecordFactory().source
    FundingRecordFactory.create_batch(100, source=source)
    body = client.get("/api/v1/funding/", {"page_size": 100000}).json()
    assert body["count"] == 101 and len(body["results"]) == 100


@pytest.mark.django_db(transaction=True)
def test_a_huge_address_is_refused_with_414(app_process):
    base = app_process()
    host, port = urlsplit(base).hostname, urlsplit(base).port
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(f"GET /search/?q={'a' * 10_000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        status_line = conn.recv(200).split(b"\r\n", 1)[0]
    assert b" 414 " in status_line, status_line


# --- Lockout across spellings of a username ------------------------------------------------------


def test_the_lockout_is_not_escaped_by_spelling_the_username_differently(client, officer):  # noqa: F811
    for _ in range(5):
        _login(client, "officer", "wrong-password", address="192.0.2.10")
    # From another address, with the right password: spaces are stripped (the same, locked,
    # account) and another case is another name, which logs nobody in.
    for spelling, expected in ((" officer", 429), ("officer ", 429), ("OFFICER", 200), ("Officer", 200)):
        response = _login(client, spelling, "right-password-123", address="198.51.100.9")
        assert response.status_code == expected, spelling
        assert "_auth_user_id" not in client.session
