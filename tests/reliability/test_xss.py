"""The usual XSS payloads in every free-text field (rich text and plain titles, descriptions,
notes, page sections), written by model save and through the API: no script, no event handler
and no javascript: link reaches any page."""

from __future__ import annotations

import datetime
import html
import itertools
import json
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import models
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.support import ENDPOINTS, route_figure
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

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<p onclick="alert(1)" style="x">p</p>',
    "' onmouseover='alert(1)' x='",
    '" onfocus="alert(1)" autofocus="',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<details open ontoggle=alert(1)>",
]
PAGES = [
    "/",
    "/regions/",
    "/countries/",
    "/funding/",
    "/instruments/",
    "/routes/",
    "/conferences/",
    "/funding-figures/",
    "/agreements/",
    "/agreements/timeline/",
    "/documents/",
    "/themes/",
    "/search/?q=alert",
    "/search/?q=alert&type=funding",
]
PROJECT_APPS = ("migrationsupport", "regions", "funding", "agreements")
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}


class Dangers(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

        self.data_block = False

    def handle_starttag(self, tag, attrs):
        # A JSON-LD data block (schema.org Dataset) is never run; its JSON must stay whole: a
        # payload breaking out of it would open another tag here, or leave invalid JSON.
        if tag == "script" and attrs == [("type", "application/ld+json")]:
            self.data_block = True
        elif tag in ("script", "iframe", "object", "embed"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in URL_ATTRIBUTES and value:
                url = "".join(html.unescape(value).split()).lower()
                if url.startswith(DANGEROUS_SCHEMES):
                    self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        if self.data_block:
            self.data_block = False
            try:
                json.loads(data)
            except ValueError:
                self.found.append("<script type=application/ld+json> with broken JSON")


def dangers(content: bytes) -> list[str]:
    parser = Dangers()
    parser.feed(content.decode())
    return parser.found


def text_fields(model) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField)
        and not isinstance(field, models.SlugField | models.URLField | models.EmailField)
        and not field.choices
        and field.editable
        and field.name not in ("iso_code", "slug", "status")
    ]


def project_models():
    return [
        model
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
        if not model.__name__.startswith("Historical") and text_fields(model)
    ]


@pytest.fixture
def world(db):
    """One published record of every kind, linked so each shows on the others' pages."""
    region = RegionFactory()
    country = CountryFactory(region=region)
    route = RouteFactory()
    theme = ThemeFactory()
    instrument = InstrumentFactory()
    conference = PledgingConferenceFactory()
    FundingRecordFactory(
        regions=[region], countries=[country], themes=[theme], instrument=instrument, conference=conference
    )
    agreement = AgreementFactory(parties=[country])
    AgreementEventFactory(agreement=agreement)
    DocumentFactory()
    PopulationFigureFactory(country=country)
    route_figure(route=route, period=datetime.date(2024, 1, 1))
    PageSectionFactory()
    cache.clear()


def pages() -> list[str]:
    urls = set(PAGES)
    for model in project_models():
        for obj in model.objects.all():
            url = obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""
            if url.startswith("/"):
                urls.add(url.split("#")[0])
    return sorted(urls)


def assert_no_danger(client) -> None:
    problems = {}
    for url in pages():
        response = client.get(url)
        assert response.status_code == 200, url
        if found := dangers(response.content):
            problems[url] = found
    assert not problems, problems


def test_the_pages_start_with_no_script_at_all(world, client):
    assert_no_danger(client)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_saved_by_model_never_reach_a_page(world, client, payload):
    counter = itertools.count()
    for model in project_models():
        fields = text_fields(model)
        for obj in model.objects.all():
            for field in fields:
                value = f"{payload} {next(counter)}"
                setattr(obj, field.name, value[: field.max_length] if field.max_length else value)
            obj.save()
    assert_no_danger(client)


@pytest.fixture
def writer(db, django_user_model) -> APIClient:
    user = django_user_model.objects.create_superuser("root", "root@example.org", "not-used")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.parametrize("payload", PAYLOADS[:8])
def test_payloads_written_through_the_api_never_reach_a_page(world, client, writer, payload):
    counter = itertools.count()
    by_model = {endpoint.model: endpoint for endpoint in ENDPOINTS.values()}
    written = 0
    for model in project_models():
        endpoint = by_model.get(model)
        if endpoint is None:
            continue
        for obj in model.objects.all():
            for field in text_fields(model):
                value = f"{payload} {next(counter)}"
                value = value[: field.max_length] if field.max_length else value
                response = writer.patch(endpoint.detail_url(obj), {field.name: value}, format="json")
                assert response.status_code in (200, 400), response.content
                written += response.status_code == 200
            obj.refresh_from_db()
    assert written > 20
    cache.clear()
    assert_no_danger(client)
