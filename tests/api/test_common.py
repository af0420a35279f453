"""What every endpoint does alike: published records only, permissions, CSV, pages, ordering."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding.models import FundingRecord
from migrationsupport import api_defaults
from migrationsupport.models import Status
from tests.api.support import API, ENDPOINTS, keys, payload, results
from tests.factories import FundingRecordFactory

pytestmark = pytest.mark.django_db


def test_root_lists_every_endpoint(api):
    response = api.get(f"{API}/")
    assert response.status_code == 200
    assert set(response.json()) == set(ENDPOINTS)
    assert response.json()["funding"] == "http://testserver/api/v1/funding/"


def test_list_and_detail_show_published_records_and_404_for_a_draft(api, endpoint):
    published = [endpoint.make(), endpoint.make()]
    draft = endpoint.make(status=Status.DRAFT)

    listed = {str(row["api_url"]) for row in _all(api, endpoint.list_url())}
    assert {f"http://testserver{endpoint.detail_url(obj)}" for obj in published} <= listed
    assert f"http://testserver{endpoint.detail_url(draft)}" not in listed

    detail = api.get(endpoint.detail_url(published[0]))
    assert detail.status_code == 200
    body = detail.json()
    assert body["status"] == "published"
    assert body["api_url"] == f"http://testserver{endpoint.detail_url(published[0])}"
    assert body["url"].startswith("http")
    assert api.get(endpoint.detail_url(draft)).status_code == 404


def test_staff_with_view_permission_see_drafts_others_do_not(api, staff_client, endpoint):
    draft = endpoint.make(status=Status.DRAFT)
    viewer = staff_client(endpoint.perm("view"))
    assert viewer.get(endpoint.detail_url(draft)).status_code == 200
    assert staff_client().get(endpoint.detail_url(draft)).status_code == 404
    assert (
        staff_client(endpoint.perm("view"), is_staff=False).get(endpoint.detail_url(draft)).status_code == 404
    )

    # The publication filter lets staff list drafts alone; the public gets none.
    drafts = viewer.get(endpoint.list_url(), {"publication": "draft"})
    assert [row["status"] for row in results(drafts)] == ["draft"]
    assert results(api.get(endpoint.list_url(), {"publication": "draft"})) == []


def test_create_needs_staff_with_the_add_permission(api, staff_client, endpoint):
    count = endpoint.model.objects.count()
    body = payload(endpoint.path)
    count_with_related = endpoint.model.objects.count()

    denied = api.post(endpoint.list_url(), body, format="json")
    assert denied.status_code == 401
    assert denied["WWW-Authenticate"] == "Token"
    assert staff_client().post(endpoint.list_url(), body, format="json").status_code == 403
    not_staff = staff_client(endpoint.perm("add"), is_staff=False)
    assert not_staff.post(endpoint.list_url(), body, format="json").status_code == 403
    assert endpoint.model.objects.count() == count_with_related >= count

    created = staff_client(endpoint.perm("add")).post(endpoint.list_url(), body, format="json")
    assert created.status_code == 201, created.content
    assert endpoint.model.objects.count() == count_with_related + 1
    assert created.json()["status"] == "draft"  # a new record is a draft until published
    assert created["ETag"].startswith('"')


def test_editors_change_drafts_publishers_change_published_records(api, staff_client, endpoint):
    draft, published = endpoint.make(status=Status.DRAFT), endpoint.make()
    editor = staff_client(endpoint.perm("change"))
    publisher = staff_client(endpoint.perm("change"), endpoint.perm("publish"))

    assert api.patch(endpoint.detail_url(published), {}, format="json").status_code == 401
    assert staff_client().patch(endpoint.detail_url(published), {}, format="json").status_code == 403
    assert staff_client(endpoint.perm("view")).patch(endpoint.detail_url(draft), {}).status_code == 403

    assert editor.patch(endpoint.detail_url(draft), {}, format="json").status_code == 200
    refused = editor.patch(endpoint.detail_url(published), {}, format="json")
    assert refused.status_code == 403
    assert "only a Publisher" in refused.json()["detail"]
    publishing = editor.patch(endpoint.detail_url(draft), {"status": "published"}, format="json")
    assert publishing.status_code == 403
    assert "Publisher" in publishing.json()["detail"]
    draft.refresh_from_db()
    published.refresh_from_db()
    assert (draft.status, draft.version, published.version) == ("draft", 2, 1)

    unpublished = publisher.patch(endpoint.detail_url(published), {"status": "draft"}, format="json")
    assert unpublished.status_code == 200, unpublished.content
    published.refresh_from_db()
    assert (published.status, published.version) == ("draft", 2)


def test_only_a_publisher_creates_a_published_record(staff_client, endpoint):
    body = {**payload(endpoint.path), "status": "published"}
    refused = staff_client(endpoint.perm("add")).post(endpoint.list_url(), body, format="json")
    assert refused.status_code == 403
    created = staff_client(endpoint.perm("add"), endpoint.perm("publish")).post(
        endpoint.list_url(), body, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "published"


def test_deleting_a_published_record_is_a_publishers(api, staff_client, endpoint):
    draft, published = endpoint.make(status=Status.DRAFT), endpoint.make()
    assert api.delete(endpoint.detail_url(published)).status_code == 401
    assert staff_client(endpoint.perm("change")).delete(endpoint.detail_url(draft)).status_code == 403
    deleter = staff_client(endpoint.perm("delete"), endpoint.perm("view"))
    assert deleter.delete(endpoint.detail_url(published)).status_code == 403
    assert endpoint.model.objects.filter(pk=published.pk).exists()
    assert deleter.delete(endpoint.detail_url(draft)).status_code == 204
    publisher = staff_client(endpoint.perm("delete"), endpoint.perm("publish"))
    assert publisher.delete(endpoint.detail_url(published)).status_code == 204
    assert not endpoint.model.objects.filter(pk__in=[draft.pk, published.pk]).exists()


def test_session_authentication_writes_too(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("officer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_theme"))
    client.force_login(user)
    response = client.post(f"{API}/themes/", payload("themes"), content_type="application/json")
    assert response.status_code == 201, response.content


def test_every_list_downloads_as_csv_with_the_json_columns_in_a_stable_order(api, endpoint):
    published = [endpoint.make(), endpoint.make()]
    endpoint.make(status=Status.DRAFT)
    by_param = api.get(endpoint.list_url(), {"format": "csv", "page_size": 1})
    by_accept = api.get(endpoint.list_url(), HTTP_ACCEPT="text/csv")
    assert by_param.status_code == by_accept.status_code == 200
    assert by_param["Content-Type"] == "text/csv; charset=utf-8"
    assert by_param["Content-Disposition"].startswith("attachment; filename=")
    body = by_param.getvalue().decode()  # streamed: read once
    assert body == by_accept.getvalue().decode()

    rows = list(csv.DictReader(io.StringIO(body)))
    json_rows = _all(api, endpoint.list_url())
    # The whole filtered set, not a page; drafts left out.
    assert len(rows) == len(json_rows) >= len(published)
    assert [row["api_url"] for row in rows] == [row["api_url"] for row in json_rows]
    header = next(csv.reader(io.StringIO(body)))
    assert "url" in header
    publishing = header[header.index("api_url") : header.index("updated_at") + 1]
    assert publishing == ["api_url", "status", "publish_at", "version", "created_at", "updated_at"]
    # After them only the names of API 1.0 kept until 1.2 (docs/api.md): rich text (now
    # <name>_html), the amount's or value's display, partial dates' <name>_date columns.
    for name in header[header.index("updated_at") + 1 :]:
        assert f"{name}_html" in header or name == "display" or name.removesuffix("_date") in header, name
    # Same header with no rows at all.
    empty = api.get(endpoint.list_url(), {"format": "csv", "publication": "draft"})
    assert next(csv.reader(io.StringIO(empty.getvalue().decode()))) == header


def test_errors_are_json_even_when_csv_was_asked_for(api):
    response = api.get(f"{API}/funding/", {"format": "csv", "region": "nowhere"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "region" in response.json()


def test_pages_have_a_count_links_and_a_capped_size(api):
    for _ in range(5):
        ENDPOINTS["themes"].make()
    first = api.get(f"{API}/themes/", {"page_size": 2})
    body = first.json()
    assert (body["count"], len(body["results"])) == (5, 2)
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/v1/themes/?page=2&page_size=2"
    last = api.get(f"{API}/themes/", {"page_size": 2, "page": 3}).json()
    assert len(last["results"]) == 1 and last["next"] is None
    assert len(api.get(f"{API}/themes/", {"page_size": 1000}).json()["results"]) == 5  # capped at 100


def test_a_search_counts_up_to_a_limit_and_its_pages_go_on_to_the_last_match(api, monkeypatch):
    monkeypatch.setattr(api_defaults, "SEARCH_COUNT_LIMIT", 3)
    for order, name in enumerate(("Asylum A", "Asylum B", "Asylum C", "Asylum D", "Asylum E", "Borders")):
        ENDPOINTS["themes"].make(name=name, order=order)
    query = {"search": "asylum", "page_size": 2}
    with CaptureQueriesContext(connection) as queries:
        first = api.get(f"{API}/themes/", query).json()
    assert (first["count"], first["count_exact"]) == (3, False)  # more than 3 match
    assert any("COUNT(*)" in q["sql"] and "LIMIT 4" in q["sql"] for q in queries.captured_queries)
    names, url, pages = [], f"{API}/themes/?{urlencode(query)}", []
    while url:
        body = api.get(url).json()
        names += [row["name"] for row in body["results"]]
        pages.append((body["count"], body["count_exact"]))
        url = body["next"]
    assert names == ["Asylum A", "Asylum B", "Asylum C", "Asylum D", "Asylum E"]  # none left out
    assert pages == [(3, False)] * 3
    last = api.get(f"{API}/themes/", {**query, "page": "last"}).json()
    assert (last["count"], last["count_exact"]) == (5, True)
    assert [row["name"] for row in last["results"]] == ["Asylum E"]
    assert last["next"] is None and last["previous"].endswith("page=2&page_size=2&search=asylum")
    past = api.get(f"{API}/themes/", {**query, "page": "4"})
    assert past.status_code == 404 and "Page 4 does not exist" in past.json()["detail"]
    beyond_sql = api.get(f"{API}/themes/", {**query, "page": "9" * 20})  # past any OFFSET
    assert beyond_sql.status_code == 404
    blank = api.get(f"{API}/themes/", {"search": " , ", "page_size": 2}).json()  # no words: no search
    assert (blank["count"], blank["count_exact"]) == (6, True)
    exactly = api.get(f"{API}/themes/", {"search": "asylum c", "page_size": 2}).json()
    assert (exactly["count"], exactly["count_exact"]) == (1, True)
    monkeypatch.setattr(api_defaults, "SEARCH_COUNT_LIMIT", 5)  # as many match as it counts
    at_limit = api.get(f"{API}/themes/", query).json()
    assert (at_limit["count"], at_limit["count_exact"]) == (5, True)
    unsearched = api.get(f"{API}/themes/", {"page_size": 2}).json()
    assert (unsearched["count"], unsearched["count_exact"]) == (6, True)


def test_a_funding_search_past_the_limit_pages_from_the_list_order(api, monkeypatch):
    monkeypatch.setattr(api_defaults, "SEARCH_COUNT_LIMIT", 2)
    for amount in (5, 4, 3, 2, 1):
        FundingRecordFactory(title=f"Border fund {amount}", amount=amount * 1_000_000, period_start=None)
    FundingRecordFactory(title="Other", amount=9_000_000)
    query = {"search": "border", "ordering": "-amount", "page_size": 2}
    body = api.get(f"{API}/funding/", query).json()
    assert (body["count"], body["count_exact"]) == (2, False)
    third = api.get(f"{API}/funding/", {**query, "page": 3}).json()
    assert [row["title"] for row in third["results"]] == ["Border fund 1"] and third["next"] is None


def test_malformed_page_values_are_400_and_a_page_past_the_end_is_404(api):
    ENDPOINTS["themes"].make()
    for params in (
        {"page": "abc"},
        {"page": "0"},
        {"page": "-1"},
        {"page": "²"},
        {"page_size": "abc"},
        {"page_size": "0"},
        {"page_size": "²"},
    ):
        response = api.get(f"{API}/themes/", params)
        assert response.status_code == 400, params
        assert list(response.json()) == list(params)
    past = api.get(f"{API}/themes/", {"page": "9"})
    assert past.status_code == 404
    assert "Page 9 does not exist" in past.json()["detail"]
    assert api.get(f"{API}/themes/", {"page": "last"}).status_code == 200


def test_unknown_ordering_field_is_a_400_naming_the_allowed_ones(api):
    response = api.get(f"{API}/funding/", {"ordering": "amount,secret"})
    assert response.status_code == 400
    message = response.json()["ordering"][0]
    assert "secret" in message and "amount, period_start, period_end, title, updated_at" in message


def test_ordering_and_search(api):
    theme = ENDPOINTS["themes"]
    for name, order in (("Borders", 2), ("Asylum", 3), ("Returns", 1)):
        theme.make(name=name, order=order)
    assert keys(api.get(f"{API}/themes/", {"ordering": "name"}), "name") == ["Asylum", "Borders", "Returns"]
    assert keys(api.get(f"{API}/themes/", {"ordering": "-order"}), "name") == ["Asylum", "Borders", "Returns"]
    assert keys(api.get(f"{API}/themes/"), "name") == ["Returns", "Borders", "Asylum"]  # default: order
    assert keys(api.get(f"{API}/themes/", {"search": "asy"}), "name") == ["Asylum"]


def test_unknown_publication_value_is_a_400(api):
    assert api.get(f"{API}/themes/", {"publication": "secret"}).status_code == 400


def _all(api, url) -> list[dict]:
    rows, page = [], 1
    while True:
        body = api.get(url, {"page": page, "page_size": 100}).json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page += 1


def test_absent_values_are_null_and_null_is_accepted_on_input(api, staff_client):
    """No "" in JSON for a missing text or choice: null; a writer may send null for a text the
    record leaves empty (stored as the empty text)."""
    FundingRecordFactory(slug="bare", implementer="", wording="", period_start=None)
    body = api.get(f"{API}/funding/bare/").json()
    assert (body["implementer"], body["wording"], body["period_start"], body["period_start_precision"]) == (
        None,
        None,
        None,
        None,
    )
    assert "" not in body.values()
    writer = staff_client("funding.change_fundingrecord", "funding.publish_fundingrecord")
    response = writer.patch(f"{API}/funding/bare/", {"implementer": None}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["implementer"] is None
    assert FundingRecord.objects.get(slug="bare").implementer == ""
