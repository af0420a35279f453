"""``?as_of=`` (issue 18, point 1): every page and API endpoint answers as it did at a past moment.

The main test writes records of several types across several days (time-machine), captures the
live site at the end of each step, and later asks every page kind and API endpoint ``as_of``
those moments: the answer must be what the site said then, apart from the banner and the
``as_of`` the links carry.
"""

from __future__ import annotations

import datetime
import difflib
import io
import json
import re

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from migrationsupport import asof
from migrationsupport.cache import _bump as page_cache_bump
from migrationsupport.models import AsOfSnapshot, Status
from regions.models import Region
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PageSectionFactory,
    PledgingConferenceFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The moment → snapshot resolution is cached; each test writes its own past."""
    cache.clear()
    yield
    cache.clear()


def at(day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2024, 3, day, hour, tzinfo=UTC)


def stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


LIST_PAGES = [
    "/",
    "/regions/",
    "/countries/",
    "/routes/",
    "/funding/",
    "/funding/?region=sahel",
    "/funding-figures/",
    "/instruments/",
    "/conferences/",
    "/agreements/",
    "/agreements/timeline/",
    "/documents/",
    "/themes/",
    "/search/?q=sahel",
    "/search/?q=package",
    "/sitemap.xml",
    "/funding/export.csv",
    "/funding/totals.csv",
    "/funding/totals.csv?group=instrument",
]
DETAIL_PAGES = [
    "/regions/sahel/",
    "/regions/andes/",
    "/countries/NE/",
    "/routes/central-route/",
    "/funding/sahel-package/",
    "/funding/andes-package/",
    "/instruments/ndici/",
    "/conferences/brussels-ix/",
    "/agreements/niger-readmission/",
    "/documents/sahel-plan/",
    "/themes/returns/",
]


def api_paths(client) -> list[str]:
    """Every list endpoint (from the API root), a detail of each kind, and the funding totals."""
    root = client.get("/api/v1/").json()
    lists = sorted(url.removeprefix("http://testserver") for url in root.values())
    return [
        *lists,
        "/api/v1/funding/?ordering=title",
        "/api/v1/funding/totals/",
        "/api/v1/funding/sahel-package/",
        "/api/v1/regions/sahel/",
        "/api/v1/agreements/niger-readmission/",
        "/api/v1/documents/sahel-plan/",
    ]


# A value never ends with a full stop: "…/?as_of=2024-03-01." in a citation keeps its stop.
_VALUE = r"[^\"'&#\s]*[^\"'&#\s.]"
_AS_OF_FIRST = re.compile(rf"\?as_of={_VALUE}(&amp;|&)")  # ?as_of=x&a=1 -> ?a=1
_AS_OF_ALONE = re.compile(rf"\?as_of={_VALUE}")  # /a/?as_of=x#b -> /a/#b
_AS_OF_LAST = re.compile(rf"(&amp;|&)as_of={_VALUE}")  # ?a=1&as_of=x -> ?a=1


def _without_as_of(text: str) -> str:
    return _AS_OF_LAST.sub("", _AS_OF_ALONE.sub("", _AS_OF_FIRST.sub("?", text)))


def normalised(response) -> tuple[int, object]:
    """What a page or an answer says, without what an as_of answer adds (banner, as_of in links)."""
    content = (b"".join(response.streaming_content) if response.streaming else response.content).decode()
    if response.get("Content-Type", "").startswith("application/json"):
        return response.status_code, _strip_json(json.loads(content))
    content = re.sub(r'<div class="as-of-banner".*?</div>\s*', "", content, flags=re.S)
    content = re.sub(r'<input type="hidden" name="as_of" value="[^"]*">', "", content)
    content = _without_as_of(content)
    return response.status_code, re.sub(r"^\s+", "", content, flags=re.M)  # indentation, blank lines


def _strip_json(value):
    if isinstance(value, dict):
        return {key: _strip_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strip_json(item) for item in value]
    if isinstance(value, str) and "as_of=" in value:
        return _without_as_of(value)
    return value


def assert_same(got: tuple[int, object], then: tuple[int, object], label) -> None:
    """Equal, or a failure that shows the lines that differ."""
    if got == then:
        return
    if isinstance(got[1], str) and isinstance(then[1], str):
        diff = difflib.unified_diff(
            then[1].splitlines(), got[1].splitlines(), "then", "as_of", n=1, lineterm=""
        )
        pytest.fail(f"{label}: status {then[0]} then, {got[0]} as_of\n" + "\n".join(list(diff)[:40]))
    assert got == then, label


def capture(client, paths) -> dict[str, tuple[int, object]]:
    return {path: normalised(client.get(path)) for path in paths}


def with_as_of(path: str, value: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}as_of={value}"


def test_every_page_and_endpoint_answers_as_it_did_at_each_moment(client):
    captured: dict[datetime.datetime, dict] = {}
    with time_machine.travel(at(1, 9), tick=True):
        source_theme = ThemeFactory(slug="returns", name="Returns")
        region = RegionFactory(slug="sahel", name="Sahel")
        other_region = RegionFactory(slug="andes", name="Andes", status=Status.DRAFT)
        country = CountryFactory(iso_code="NE", name="Niger", region=region)
        RouteFactory(slug="central-route", name="Central route")
        instrument = InstrumentFactory(slug="ndici", name="NDICI")
        PledgingConferenceFactory(slug="brussels-ix", name="Brussels IX")
        sahel = FundingRecordFactory(
            slug="sahel-package", title="Sahel package", regions=[region], countries=[country]
        )
        andes = FundingRecordFactory(slug="andes-package", title="Andes package", status=Status.DRAFT)
        agreement = AgreementFactory(slug="niger-readmission", title="Niger readmission", parties=[country])
        AgreementEventFactory(agreement=agreement)
        document = DocumentFactory(slug="sahel-plan", title="Sahel plan")
        PageSectionFactory(slug="intro", title="Introduction")
        PopulationFigureFactory(country=country)
    with time_machine.travel(at(1, 20), tick=True):
        paths = LIST_PAGES + DETAIL_PAGES + api_paths(client)
        captured[at(1, 20)] = capture(client, paths)

    # Day 2: an edit, a publication, a relation added, a region renamed.
    with time_machine.travel(at(2, 10), tick=True):
        sahel.title = "Sahel package (revised)"
        sahel.amount = sahel.amount * 2
        sahel.instrument = instrument
        sahel.save()
        sahel.themes.add(source_theme)
        andes.status = Status.PUBLISHED
        andes.regions.add(region)
        andes.save()
        Region.objects.get(pk=region.pk).save()  # a save that changes nothing is a history row too
        region.summary = "The Sahel, renamed summary."
        region.save()
    with time_machine.travel(at(2, 20), tick=True):
        captured[at(2, 20)] = capture(client, paths)

    # Day 3: an unpublication, a deletion, a draft edit of a published record's relation.
    with time_machine.travel(at(3, 10), tick=True):
        agreement.status = Status.DRAFT
        agreement.save()
        document.delete()
        other_region.name = "Andes (draft, renamed)"
        other_region.save()
    with time_machine.travel(at(3, 20), tick=True):
        captured[at(3, 20)] = capture(client, paths)

    # Day 4: more changes after the last moment asked about.
    with time_machine.travel(at(4, 10), tick=True):
        sahel.delete()
        agreement.status = Status.PUBLISHED
        agreement.title = "Niger readmission agreement"
        agreement.save()

    # The moments differ from one another and from today: the comparison below can fail.
    day1, day2, day3 = (captured[at(day, 20)] for day in (1, 2, 3))
    assert "Sahel package (revised)" not in day1["/funding/sahel-package/"][1]
    assert "Sahel package (revised)" in day2["/funding/sahel-package/"][1]
    assert day2["/documents/sahel-plan/"][0] == 200 and day3["/documents/sahel-plan/"][0] == 404
    assert (
        day2["/agreements/niger-readmission/"][0] == 200 and day3["/agreements/niger-readmission/"][0] == 404
    )
    assert day1["/api/v1/funding/"][1]["count"] == 1 and day2["/api/v1/funding/"][1]["count"] == 2
    with time_machine.travel(at(10), tick=True):
        assert client.get("/funding/sahel-package/").status_code == 404  # deleted on day 4
        for moment, then in captured.items():
            for path in paths:
                response = client.get(with_as_of(path, stamp(moment)))
                assert_same(normalised(response), then[path], (moment, path))
        # A date is the end of that day (Brussels): day 2 ends after the captures of day 2.
        for path in paths:
            assert_same(
                normalised(client.get(with_as_of(path, "2024-03-02"))), captured[at(2, 20)][path], path
            )
        # Three moments, three snapshots (a moment between two changes reuses one).
        assert AsOfSnapshot.objects.count() == 3


@pytest.fixture
def history():
    """A published record and a draft on 1 March, the draft published on 2 March."""
    with time_machine.travel(at(1), tick=True):
        published = FundingRecordFactory(slug="published", title="Published on day one")
        draft = FundingRecordFactory(slug="draft", title="Draft on day one", status=Status.DRAFT)
    with time_machine.travel(at(2), tick=True):
        draft.status = Status.PUBLISHED
        draft.save()
    return published, draft


def test_drafts_of_the_moment_are_never_shown(client, history):
    with time_machine.travel(at(5)):
        day_one = client.get("/api/v1/funding/?as_of=2024-03-01").json()
        page = client.get("/funding/draft/?as_of=2024-03-01")
        day_two = client.get("/api/v1/funding/?as_of=2024-03-02").json()
    assert [r["slug"] for r in day_one["results"]] == ["published"]
    assert page.status_code == 404
    assert sorted(r["slug"] for r in day_two["results"]) == ["draft", "published"]


def test_staff_sessions_and_tokens_read_what_the_public_read(admin_client, admin_user, client, history):
    token = Token.objects.create(user=admin_user)
    with time_machine.travel(at(5)):
        session = admin_client.get("/api/v1/funding/?as_of=2024-03-01").json()
        with_token = client.get(
            "/api/v1/funding/?as_of=2024-03-01", headers={"Authorization": f"Token {token.key}"}
        ).json()
    assert [r["slug"] for r in session["results"]] == ["published"]
    assert [r["slug"] for r in with_token["results"]] == ["published"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("yesterday", "is not a date"),
        ("2024-02-30", "is not a real date"),
        ("0001-01-01T00:00:00+14:00", "is out of range"),
        ("2024-03-01T12:00:00", "has no time zone offset"),
        ("2024-13-01", "is not a real date"),
        ("2024-03-07", "is in the future"),
        ("2024-03-05T12:00:01Z", "is in the future"),
        ("2024-03-05T11:59:30Z", "is too recent"),
        ("2024-02-01", "before anything was published"),
    ],
)
def test_dates_the_site_cannot_answer_are_a_400_with_a_message(client, history, value, words):
    with time_machine.travel(at(5), tick=False):
        api = client.get(f"/api/v1/funding/?as_of={value}")
        page = client.get(f"/funding/?as_of={value}")
    assert api.status_code == 400
    assert words in api.json()["as_of"][0]
    assert page.status_code == 400
    assert words in page.content.decode()
    assert "Read the current version of this page" in page.content.decode()


def test_a_timestamp_with_its_offset_and_an_unencoded_plus(client, history):
    with time_machine.travel(at(5)):
        # 1 March 23:00 in Brussels is 22:00 UTC: before the draft's publication on 2 March.
        plus = client.get("/api/v1/funding/?as_of=2024-03-01T23:00:00+01:00").json()
        encoded = client.get("/api/v1/funding/?as_of=2024-03-01T23:00:00%2B01:00").json()
    assert [r["slug"] for r in plus["results"]] == ["published"] == [r["slug"] for r in encoded["results"]]


def test_past_answers_carry_long_cache_headers_and_a_stable_etag(client, history):
    with time_machine.travel(at(5)):
        first = client.get("/funding/?as_of=2024-03-01")
        again = client.get("/funding/?as_of=2024-03-01")
        # Another moment with no change in between: the same snapshot, the same answer.
        same_snapshot = client.get("/funding/?as_of=2024-03-01T18:00:00Z")
        next_day = client.get("/funding/?as_of=2024-03-02")
        not_modified = client.get("/funding/?as_of=2024-03-01", headers={"If-None-Match": first["ETag"]})
    assert first.status_code == 200
    assert first["ETag"] == again["ETag"]
    assert first["ETag"] != next_day["ETag"]
    assert "immutable" in first["Cache-Control"] and "public" in first["Cache-Control"]
    assert "max-age=31536000" in first["Cache-Control"]
    assert not_modified.status_code == 304
    assert normalised(same_snapshot)[1] == normalised(first)[1]


def test_the_banner_links_to_today_and_links_keep_the_date(client, history):
    with time_machine.travel(at(5)):
        body = client.get("/funding/?as_of=2024-03-01&region=x").content.decode()
        live = client.get("/funding/").content.decode()
    assert "You are reading the site as it stood on 1 March 2024 (end of the day, Brussels time)" in body
    assert 'href="/funding/?region=x" data-as-of-today' in body
    assert 'href="/regions/?as_of=2024-03-01"' in body
    assert 'href="/static/' in body and "/static/css/site.css?as_of" not in body
    # The search form keeps the date too.
    assert '<input type="hidden" name="as_of" value="2024-03-01">' in body
    assert "as-of-banner" not in live and "as_of" not in live


def test_a_past_version_is_cited_with_its_date(client, history):
    with time_machine.travel(at(5)):
        body = client.get("/funding/published/?as_of=2024-03-01").content.decode()
        live = client.get("/funding/published/").content.decode()
    assert "http://testserver/funding/published/?as_of=2024-03-01. Last updated 1 March 2024" in body
    assert "http://testserver/funding/published/. Last updated 1 March 2024" in live


def test_api_hyperlinks_and_pages_keep_the_date(client, history):
    with time_machine.travel(at(5)):
        answer = client.get("/api/v1/funding/?as_of=2024-03-02&page_size=1").json()
    assert answer["next"].endswith("as_of=2024-03-02") or "as_of=2024-03-02" in answer["next"]
    assert all("as_of=2024-03-02" in record["url"] for record in answer["results"])


def test_snapshots_past_the_limit_are_dropped_least_recently_used_first(client, history, settings):
    settings.AS_OF_MAX_SNAPSHOTS = 1
    with time_machine.travel(at(5)):
        client.get("/api/v1/funding/?as_of=2024-03-01")
        client.get("/api/v1/funding/?as_of=2024-03-02")
        asof.prune()
        schemas = list(AsOfSnapshot.objects.values_list("schema", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'asof%%'")
            existing = [name for (name,) in cursor.fetchall()]
        # The dropped one is built again when asked for.
        again = client.get("/api/v1/funding/?as_of=2024-03-01").json()
    assert len(schemas) == 1 and existing == schemas
    assert [r["slug"] for r in again["results"]] == ["published"]


def test_records_without_history_exist_from_their_creation(client):
    with time_machine.travel(at(1), tick=True):
        FundingRecordFactory(slug="with-history")
        region = RegionFactory(slug="bulk-region")
    with time_machine.travel(at(2), tick=True):
        bulk = FundingRecordFactory.build(slug="bulk", title="Bulk", source=region.source)
        type(bulk).objects.bulk_create([bulk])  # no history row, as demo data
    with time_machine.travel(at(5)):
        day_one = client.get("/api/v1/funding/?as_of=2024-03-01").json()
        day_two = client.get("/api/v1/funding/?as_of=2024-03-02").json()
    assert [r["slug"] for r in day_one["results"]] == ["with-history"]
    assert sorted(r["slug"] for r in day_two["results"]) == ["bulk", "with-history"]


def test_a_live_request_after_an_as_of_one_reads_today(client, history):
    with time_machine.travel(at(5)):
        client.get("/api/v1/funding/?as_of=2024-03-01")
        with connection.cursor() as cursor:
            cursor.execute("SHOW search_path")
            (path,) = cursor.fetchone()
        live = client.get("/api/v1/funding/").json()
    assert "asof" not in path
    assert live["count"] == 2


def test_sqlite_has_no_snapshots_and_says_so(client, history, monkeypatch):
    monkeypatch.setattr(asof, "enabled", lambda: False)
    with time_machine.travel(at(5)):
        api = client.get("/api/v1/funding/?as_of=2024-03-01")
        page = client.get("/?as_of=2024-03-01")
    assert api.status_code == page.status_code == 501
    assert "needs the PostgreSQL database" in api.json()["as_of"][0]
    assert "needs the PostgreSQL database" in page.content.decode()


def test_the_prune_command_drops_every_snapshot_with_keep_zero(client, history):
    with time_machine.travel(at(5)):
        client.get("/api/v1/funding/?as_of=2024-03-01")
    assert AsOfSnapshot.objects.count() == 1
    out = io.StringIO()
    call_command("prune_as_of_snapshots", "--keep", "0", stdout=out)
    assert "Dropped 1 snapshot(s)." in out.getvalue()
    assert not AsOfSnapshot.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'asof%%'")
        assert cursor.fetchone()[0] == 0


def test_the_page_cache_keeps_past_answers_apart_and_through_edits(client, history, settings):
    settings.PAGE_CACHE_SECONDS = 600
    cache.clear()
    try:
        with time_machine.travel(at(5)):
            first = client.get("/api/v1/funding/?as_of=2024-03-01")
            live = client.get("/api/v1/funding/")
            # An edit today makes every live page stale, not an answer about 1 March.
            FundingRecordFactory(slug="today")
            page_cache_bump()
            with CaptureQueriesContext(connection) as queries:
                again = client.get("/api/v1/funding/?as_of=2024-03-01")
            fresh = client.get("/api/v1/funding/")
    finally:
        cache.clear()
    assert first["X-Cache"] == "miss" and live["X-Cache"] == "miss"
    assert again["X-Cache"] == "hit" and len(queries) == 0
    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert fresh["X-Cache"] == "miss" and fresh.json()["count"] == 3


def test_a_listed_snapshot_whose_schema_is_gone_is_built_again(client, history):
    """A restored database lists snapshots without their schemas (the backup leaves them out):
    a search_path naming a missing schema would silently read today's tables."""
    with time_machine.travel(at(5)):
        client.get("/api/v1/funding/?as_of=2024-03-01")
        (schema,) = AsOfSnapshot.objects.values_list("schema", flat=True)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        cache.clear()
        answer = client.get("/api/v1/funding/?as_of=2024-03-01").json()
    assert [r["slug"] for r in answer["results"]] == ["published"]


def test_a_snapshot_built_under_another_table_layout_is_built_again(client, history, monkeypatch):
    """A snapshot copies tables as they were when it was built: after a migration that adds a
    column (a new layout), the same moment is another snapshot, and the old one goes."""
    with time_machine.travel(at(5)):
        client.get("/api/v1/funding/?as_of=2024-03-01")
        (old,) = AsOfSnapshot.objects.values_list("schema", flat=True)
        with connection.cursor() as cursor:  # as a snapshot built before the last migration
            cursor.execute(f'ALTER TABLE "{old}".funding_fundingtotalsset DROP COLUMN size')
        monkeypatch.setattr(asof, "layout", lambda: "deployed")
        cache.clear()
        answer = client.get("/api/v1/funding/?as_of=2024-03-01")
        asof.prune()
        (new,) = AsOfSnapshot.objects.values_list("schema", flat=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'asof%%'")
            existing = [name for (name,) in cursor.fetchall()]
    assert answer.status_code == 200 and [r["slug"] for r in answer.json()["results"]] == ["published"]
    assert new != old and new.endswith("_deployed") and existing == [new]
