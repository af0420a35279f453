"""The site-wide endpoints (themes, sources), the OpenAPI schema and its offline docs."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.management import call_command

from migrationsupport.models import Source
from tests.api.support import API, keys
from tests.factories import SourceFactory, ThemeFactory

pytestmark = pytest.mark.django_db


def test_themes(api):
    ThemeFactory(slug="returns", name="Return and readmission", order=2)
    ThemeFactory(slug="protection", name="Protection", order=1)
    assert keys(api.get(f"{API}/themes/")) == ["protection", "returns"]
    body = api.get(f"{API}/themes/returns/").json()
    assert body["url"] == "http://testserver/themes/returns/"
    assert set(body["source"]) == {"slug", "title", "publisher", "url"}


def test_sources_give_their_own_address_and_date(api):
    SourceFactory(
        slug="dg-near",
        title="EU support",
        publisher="DG NEAR",
        url="https://ec.europa.eu/near",
        date=datetime.date(2024, 1, 1),
        date_precision="year",
    )
    SourceFactory(slug="other", publisher="Council")
    body = api.get(f"{API}/sources/dg-near/").json()
    assert body["url"] == "https://ec.europa.eu/near"
    assert (body["date"], body["date_precision"], body["date_display"]) == ("2024", "year", "2024")
    assert keys(api.get(f"{API}/sources/", {"publisher": "dg near"})) == ["dg-near"]
    assert keys(api.get(f"{API}/sources/", {"year": 2024})) == ["dg-near"]


def test_a_source_url_must_be_an_address(staff_client):
    officer = staff_client("migrationsupport.add_source")
    response = officer.post(
        f"{API}/sources/", {"slug": "s", "title": "S", "publisher": "P", "url": "not a url"}
    )
    assert response.status_code == 400
    assert "url" in response.json()
    assert not Source.objects.filter(slug="s").exists()


def test_schema_validates_without_warnings(tmp_path):
    """OpenAPI 3 schema: valid, and drf-spectacular met nothing it had to guess."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/v1/funding/", "/api/v1/funding/totals/", "/api/v1/countries/{iso_code}/"):
        assert f"  {path}:" in text
    for code in ("'304'", "'400'", "'401'", "'403'", "'404'", "'412'", "'429'"):
        assert code in text


def test_schema_is_served_and_the_docs_need_no_cdn(api):
    schema = api.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    operation = schema.json()["paths"]["/api/v1/funding/"]["get"]
    parameters = {p["name"] for p in operation["parameters"]}
    assert {
        "region",
        "country",
        "year_min",
        "amount_max",
        "top_level",
        "ordering",
        "page",
        "format",
    } <= parameters
    for page in ("/api/docs/", "/api/redoc/"):
        html = api.get(page).content.decode()
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, page
        assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
        assert any("drf_spectacular_sidecar" in s for s in sources)
