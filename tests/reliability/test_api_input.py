"""Bad input on every write endpoint: malformed JSON, wrong types, huge values, unknown fields and
unicode edge cases get a 400 with a message naming the problem, and change nothing."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.support import ENDPOINTS, payload

NAMES = sorted(ENDPOINTS)
TEXT_KEYS = ("name", "title", "label", "group", "publisher", "description", "summary")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def writer(db, django_user_model) -> APIClient:
    user = django_user_model.objects.create_superuser("root", "root@example.org", "not-used")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _snapshot(model) -> list[dict]:
    return list(model.objects.order_by("pk").values())


def _post(client, name: str, body) -> object:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.generic("POST", ENDPOINTS[name].list_url(), raw, content_type="application/json")


def _assert_refused(response, before, model, *, field: str | None = None) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    errors = response.json()
    assert errors, "a 400 says what is wrong"
    if field is not None:
        assert field in errors, errors
        assert all(isinstance(message, str) and message for message in errors[field]), errors
    assert _snapshot(model) == before, "a refused write changes nothing"
    return errors


def _text_key(body: dict) -> str:
    return next((key for key in TEXT_KEYS if key in body), "description")


@pytest.mark.parametrize("name", NAMES)
def test_malformed_json_is_refused(writer, name):
    model = ENDPOINTS[name].model
    payload(name)  # related records exist, as for a real write
    before = _snapshot(model)
    for raw in ('{"slug": ', "{'slug': 'x'}", "not json", "\ufeff{}x", '{"a": NaN}'):
        errors = _assert_refused(_post(writer, name, raw), before, model)
        assert "detail" in errors or "non_field_errors" in errors


@pytest.mark.parametrize("name", NAMES)
def test_a_body_that_is_not_an_object_is_refused(writer, name):
    model = ENDPOINTS[name].model
    before = _snapshot(model)
    for body in ([], [payload(name)], "a string", 12, None, True):
        before = _snapshot(model)
        _assert_refused(_post(writer, name, body), before, model)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_types_in_every_field_are_refused(writer, name):
    model = ENDPOINTS[name].model
    valid = payload(name)
    before = _snapshot(model)
    for key in valid:
        for wrong in ({"nested": 1}, [1, 2], True):
            if key in ("slug",) and wrong is True:
                continue
            _assert_refused(_post(writer, name, {**valid, key: wrong}), before, model, field=key)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_fields_are_refused_by_name(writer, name):
    model = ENDPOINTS[name].model
    valid = payload(name)
    before = _snapshot(model)
    errors = _assert_refused(_post(writer, name, {**valid, "is_admin": True}), before, model)
    assert "is_admin" in errors
    assert "Unknown field" in errors["is_admin"][0]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "bad", ["nul\u0000byte", "\u0000", "lone \ud800 surrogate", "\udfff"], ids=["nul", "only-nul", "hi", "lo"]
)
def test_nul_bytes_and_lone_surrogates_are_refused_in_every_string(writer, name, bad):
    model = ENDPOINTS[name].model
    valid = payload(name)
    before = _snapshot(model)
    for key, value in valid.items():
        if isinstance(value, dict):  # a partial date: the date and its precision
            for part in value:
                body = {**valid, key: {**value, part: bad}}
                _assert_refused(_post(writer, name, body), before, model, field=key)
        elif isinstance(value, str):
            _assert_refused(_post(writer, name, {**valid, key: bad}), before, model, field=key)
    # in a key, too
    _assert_refused(_post(writer, name, {**valid, bad: "x"}), before, model)


@pytest.mark.parametrize("name", NAMES)
def test_right_to_left_marks_and_astral_characters_are_kept_exactly(writer, name):
    valid = payload(name)
    key = _text_key(valid)
    text = "\u202eتقرير\u200f 🇪🇺 e\u0301"
    response = _post(writer, name, {**valid, key: text})
    assert response.status_code == 201, response.content
    assert response.json()[key] == text
    # and in a slug (an address) they are refused
    if "slug" in valid:
        model = ENDPOINTS[name].model
        again = payload(name)
        before = _snapshot(model)
        _assert_refused(_post(writer, name, {**again, "slug": "\u202eslug"}), before, model, field="slug")


@pytest.mark.parametrize("name", NAMES)
def test_huge_values_are_refused(writer, name):
    model = ENDPOINTS[name].model
    valid = payload(name)
    before = _snapshot(model)
    key = _text_key(valid)
    _assert_refused(_post(writer, name, {**valid, key: "x" * 100_000}), before, model, field=key)
    for number_key in ("amount", "value", "percent"):
        if number_key in valid:
            for huge in (10**20, "1" + "0" * 400, 1e308, "1e400", "NaN", "Infinity"):
                _assert_refused(
                    _post(writer, name, {**valid, number_key: huge}), before, model, field=number_key
                )
    for date_key in ("period", "date"):
        if date_key in valid:
            for date in ("99999-01-01", "2024-02-30", "0000-01-01", 20240101, "0000", "2024-1"):
                body = {**valid, date_key: date}
                _assert_refused(_post(writer, name, body), before, model, field=date_key)


def test_a_ten_megabyte_body_is_refused(writer):
    body = {**payload("funding"), "title": "x" * 10_000_000}
    before = _snapshot(ENDPOINTS["funding"].model)
    errors = _assert_refused(_post(writer, "funding", body), before, ENDPOINTS["funding"].model)
    assert "larger than" in errors["detail"]


@pytest.mark.parametrize("name", NAMES)
def test_bad_updates_change_nothing(writer, name):
    endpoint = ENDPOINTS[name]
    obj = endpoint.make()
    url = endpoint.detail_url(obj)
    body = payload(name)
    key = _text_key(body)
    before = _snapshot(endpoint.model)
    for bad in ('{"x": ', json.dumps({key: "a\u0000b"}), json.dumps({key: ["x"]}), json.dumps({"nope": 1})):
        for method in ("PATCH", "PUT"):
            response = writer.generic(method, url, bad, content_type="application/json")
            _assert_refused(response, before, endpoint.model)


@pytest.mark.parametrize("name", NAMES)
def test_bad_query_parameters_and_addresses_answer_4xx(writer, name):
    endpoint = ENDPOINTS[name]
    endpoint.make()
    client = APIClient()
    for query in (
        "search=%00",
        "ordering=%00",
        "page=%00",
        "page_size=%00",
        "search=%ED%A0%80",
        "status=%00",
    ):
        response = client.get(f"{endpoint.list_url()}?{query}")
        assert response.status_code in (200, 400), (query, response.status_code)
        if response.status_code == 400:  # the documented error shape: parameter -> messages
            assert isinstance(response.json(), dict), (query, response.json())
    for key in ("%00", "%ED%A0%80", "x" * 5000):
        assert client.get(f"{endpoint.list_url()}{key}/").status_code in (400, 404)
        response = writer.generic(
            "PATCH", f"{endpoint.list_url()}{key}/", "{}", content_type="application/json"
        )
        assert response.status_code in (400, 404)
