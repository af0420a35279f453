"""Helpers shared by the page tests (tests/<app>/test_views.py and tests/browser/)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

from django.db import connection
from django.test.utils import CaptureQueriesContext


def text_of(response) -> str:
    """The visible text of a page: tags dropped, entities decoded, spaces (and nbsp) collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).replace("\u00a0", " ").split())
    return re.sub(r"\s+([),.;:])", r"\1", text).replace("( ", "(")


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def assert_constant_queries(client, url: str, make_rows: Callable[[int], object]) -> int:
    """The page costs as many queries with 30 rows as with 3: no query per row."""
    make_rows(3)
    client.get(url)  # warm up anything cached per process
    few = query_count(client, url)
    make_rows(27)
    many = query_count(client, url)
    assert few == many, f"{url}: {few} queries with 3 rows, {many} with 30"
    return many


class PageStructure(HTMLParser):
    """What the accessibility checks of every page look at, read from the HTML."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.h1 = 0
        self.tables = 0
        self.captions = 0
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.ids.append(attributes["id"])
        self.h1 += tag == "h1"
        self.tables += tag == "table"
        self.captions += tag == "caption"

    def has(self, tag: str, **attributes) -> bool:
        return any(t == tag and all(a.get(k) == v for k, v in attributes.items()) for t, a in self.tags)


def structure_of(response) -> PageStructure:
    parser = PageStructure()
    parser.feed(response.content.decode())
    return parser


def assert_accessible_structure(response) -> None:
    page = structure_of(response)
    assert page.has("html", lang="en")
    assert page.h1 == 1, "one h1 per page"
    for landmark in ("header", "nav", "main", "footer"):
        assert page.has(landmark), landmark
    assert page.has("a", **{"class": "skip-link", "href": "#main"})
    assert page.tables == page.captions, "every table has a caption"
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"
