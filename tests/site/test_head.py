"""What every page says about itself to search engines and link previews, robots.txt, and the
footer's links to the data, the API and the method."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from migrationsupport.templatetags.head import summary_text
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    RouteFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


def head_tags(body: str) -> dict[str, str]:
    """``{"description": …, "og:title": …}`` from a page's ``<meta>`` tags, entities decoded."""
    tags = {}
    for name, content in re.findall(r'<meta (?:name|property)="([^"]+)" content="([^"]*)">', body):
        assert name not in tags, f"{name} appears twice"
        tags[name] = unescape(content)
    return tags


@pytest.fixture
def records():
    """One published record of each kind, two of some, each with its own words."""
    region = RegionFactory(slug="sahel", name="Sahel", summary="Support on the Sahel route & its partners.")
    other_region = RegionFactory(
        slug="andes", name="Andes", body="<p>The <em>Andes</em> text.<sup>[1]</sup></p>"
    )
    country = CountryFactory(iso_code="NE", name="Niger", region=region)
    return {
        "region": region,
        "other_region": other_region,
        "country": country,
        "other_country": CountryFactory(iso_code="ML", name="Mali", region=region),
        "route": RouteFactory(
            slug="central-route", name="Central route", description="<p>A route north.</p>"
        ),
        "funding": FundingRecordFactory(
            slug="sahel-package", title="Sahel package", description="<p>A package.</p>"
        ),
        "other_funding": FundingRecordFactory(slug="andes-package", title="Andes package", description=""),
        "instrument": InstrumentFactory(
            slug="ndici", name="NDICI", description="<p>The neighbourhood instrument.</p>"
        ),
        "conference": PledgingConferenceFactory(slug="brussels-ix", name="Brussels IX"),
        "agreement": AgreementFactory(slug="niger-readmission", title="Niger readmission", parties=[country]),
        "other_agreement": AgreementFactory(slug="mali-readmission", title="Mali readmission"),
        "document": DocumentFactory(slug="sahel-plan", title="Sahel plan", summary="<p>A plan.</p>"),
        "other_document": DocumentFactory(slug="andes-plan", title="Andes plan", summary="<p>A plan.</p>"),
        "theme": ThemeFactory(
            slug="returns", name="Returns", description="<p>Returns &amp; reintegration.</p>"
        ),
    }


LIST_PAGES = [
    "/",
    "/regions/",
    "/countries/",
    "/funding/",
    "/funding-figures/",
    "/instruments/",
    "/agreements/",
    "/agreements/timeline/",
    "/documents/",
    "/themes/",
    "/search/?q=sahel",
]
DETAIL_PAGES = [
    "/regions/sahel/",
    "/regions/andes/",
    "/countries/NE/",
    "/countries/ML/",
    "/routes/central-route/",
    "/funding/sahel-package/",
    "/funding/andes-package/",
    "/instruments/ndici/",
    "/conferences/brussels-ix/",
    "/agreements/niger-readmission/",
    "/agreements/mali-readmission/",
    "/documents/sahel-plan/",
    "/documents/andes-plan/",
    "/themes/returns/",
]


def test_every_page_has_a_description_and_open_graph_tags(client, records):
    for path in LIST_PAGES + DETAIL_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        tags = head_tags(response.content.decode())
        title = unescape(
            re.search(r"<title>(.*?) – Migration Support</title>", response.content.decode()).group(1)
        )
        assert tags["og:title"] == title, path
        assert tags["og:type"] == "website", path
        assert tags["og:site_name"] == "Migration Support", path
        # Absolute, the page's own address without its query string (a record's permalink:
        # ISO codes in lower case).
        assert tags["og:url"] == "http://testserver" + path.split("?")[0].lower(), path
        assert 0 < len(tags["description"]) <= 160, (path, tags["description"])
        assert tags["og:description"] == tags["description"], path
        # Plain text, escaped once: no markup, no entity left after decoding.
        assert not re.search(r"<|&\w+;|&#", tags["description"]), (path, tags["description"])


def test_detail_pages_describe_themselves_each_in_their_own_words(client, records):
    descriptions = {
        path: head_tags(client.get(path).content.decode())["description"] for path in DETAIL_PAGES
    }
    default = head_tags(client.get("/").content.decode())["description"]

    assert len(set(descriptions.values())) == len(DETAIL_PAGES), descriptions
    assert default not in descriptions.values()
    # The record's own summary, as plain text: tags, entities and footnote markers gone.
    assert descriptions["/regions/sahel/"] == "Support on the Sahel route & its partners."
    assert descriptions["/regions/andes/"] == "The Andes text."
    assert descriptions["/themes/returns/"] == "Returns & reintegration."
    assert descriptions["/funding/sahel-package/"] == "A package."
    assert descriptions["/instruments/ndici/"] == "The neighbourhood instrument."
    # Records whose text may be shared with others lead with their own title.
    assert descriptions["/documents/sahel-plan/"].startswith("Sahel plan: ")
    assert descriptions["/agreements/niger-readmission/"].startswith("Niger readmission: ")
    assert descriptions["/countries/NE/"].startswith("Niger (Sahel): ")


def test_a_long_summary_is_cut_at_a_word_to_160_characters(client, records):
    words = " ".join(f"word{n}" for n in range(80))
    records["document"].summary = f"<p>{words}</p>"
    records["document"].save()

    description = head_tags(client.get("/documents/sahel-plan/").content.decode())["description"]

    assert len(description) <= 160
    assert description.endswith("…")
    assert description[:-1].split()[-1] in words.split()


def test_summary_text_makes_one_plain_line():
    assert summary_text("<p>One\n  <strong>two</strong> &amp; three.<sup>[2]</sup></p><p>Four.</p>") == (
        "One two & three.Four."
    )
    assert summary_text("") == ""
    assert summary_text(None) == ""


def test_robots_txt_allows_the_site_but_not_admin_nor_search_and_names_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[:6] == [
        "User-agent: *",
        "Allow: /",
        "Disallow: /admin/",
        "Disallow: /search/",
        "Disallow: /api/v1/",
        "Disallow: /changes/feed/",  # made for feed readers; the pages have every change
    ]
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert client.get("/sitemap.xml").status_code == 200


def test_footer_links_the_method_the_downloads_and_the_api(client, records):
    body = client.get("/").content.decode()
    footer = body[body.index('<footer class="site-footer">') :]
    links = {unescape(label): href for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', footer)}

    assert links["How the figures are made"] == reverse("funding:method")
    assert links["Download all funding records (CSV)"] == reverse("funding:export-csv")
    assert links["Open data API"] == reverse("api:api-root") == "/api/v1/"
    assert links["API documentation"] == reverse("api:docs")
    for href in links.values():
        assert client.get(href).status_code == 200, href


def test_a_record_page_shares_its_permalink_whatever_address_reached_it(client, records):
    response = client.get("/countries/ML/")
    assert response.status_code == 200
    tags = head_tags(response.content.decode())
    assert tags["og:url"] == "http://testserver/countries/ml/"
    assert "http://testserver/countries/ml/" in response.content.decode().split("Cite this", 1)[1]
