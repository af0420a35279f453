"""What a page says about itself in its ``<head>``: the description and Open Graph tags.

``base.html`` renders its ``title`` and ``description`` blocks once each, inside ``{% capture %}``,
and reuses the text in ``<title>``, ``<meta name="description">`` and the ``og:`` tags, so a page
states its title and its summary in one place.
"""

from __future__ import annotations

import html
import re

from django import template
from django.template.base import Parser, Token
from django.urls import NoReverseMatch, reverse
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe

from migrationsupport.changes import lookup_field
from migrationsupport.models import PublishableModel

register = template.Library()

#: Search engines show about this many characters of a description.
DESCRIPTION_LENGTH = 160

# A footnote marker such as <sup>[1]</sup> is no part of the sentence it sits in.
FOOTNOTE_MARKER = re.compile(r"<sup\b[^>]*>.*?</sup>", re.IGNORECASE | re.DOTALL)


class CaptureNode(template.Node):
    child_nodelists = ("nodelist",)

    def __init__(self, nodelist: template.NodeList, name: str):
        self.nodelist = nodelist
        self.name = name

    def render(self, context) -> str:
        # The blocks inside have been rendered (and escaped) by the template engine already.
        context[self.name] = mark_safe(" ".join(self.nodelist.render(context).split()))  # noqa: S308
        return ""


@register.tag
def capture(parser: Parser, token: Token) -> CaptureNode:
    """``{% capture as name %}…{% endcapture %}``: render the content once, whitespace collapsed,
    into the variable ``name`` (blocks inside can still be overridden by child templates)."""
    bits = token.split_contents()
    if len(bits) != 3 or bits[1] != "as":
        raise template.TemplateSyntaxError("Usage: {% capture as name %}…{% endcapture %}")
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist, bits[2])


@register.filter
def summary_text(value: str | None, length: int = DESCRIPTION_LENGTH) -> str:
    """``{{ record.description|summary_text }}``: rich text as one plain line of at most
    ``length`` characters, cut at a word, for a ``<meta name="description">``."""
    if not value:
        return ""
    text = " ".join(html.unescape(strip_tags(FOOTNOTE_MARKER.sub("", str(value)))).split())
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    if text[length - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.–-") + "…"


@register.simple_tag(takes_context=True)
def absolute_url(context) -> str:
    """The page's own address, absolute and without its query string (``og:url``); on a record's
    page its permalink (``/countries/TR/`` for ``/countries/tr/``), as "Cite this" gives it."""
    request = context.get("request")
    record = context.get("object")
    path = record.get_absolute_url() if hasattr(record, "get_absolute_url") else getattr(request, "path", "")
    return request.build_absolute_uri(path) if request is not None else path


@register.inclusion_tag("includes/feed_links.html", takes_context=True)
def change_feed_links(context):
    """``<link rel="alternate">`` to the Atom feeds of changes: the whole site's, and the page's
    record's when it has one (a region, a country, an instrument, an agreement: the site layer
    names them ``changes-feed-<model>``)."""
    feeds = [("What changed: the whole site", reverse("changes-feed"))]
    record = context.get("object")
    if isinstance(record, PublishableModel) and record.pk is not None:
        try:
            url = reverse(
                f"changes-feed-{record._meta.model_name}",
                args=[getattr(record, lookup_field(type(record)))],
            )
        except NoReverseMatch:
            url = None
        if url:
            feeds.append((f"What changed: {record}", url))
    return {"feeds": feeds}
