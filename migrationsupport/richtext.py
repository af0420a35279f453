"""Officer-entered rich text: sanitised with nh3 on the way in and again on the way out."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from html import unescape

import nh3
from django.db import models
from django.utils.html import strip_tags

ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "sup", "sub", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

#: Texts whose answers are kept (``kept_for_short_texts``): the latest 1 024 of at most 4 000
#: characters (a region's text, a description), however long an officer's text. A cache holds at
#: most 1 024 × 2 texts × 4 000 characters: 8 MB of plain ASCII, 33 MB at worst (4 bytes a
#: character); there are two (``sanitise``, ``plain_words``).
KEPT_TEXTS = 1024
KEPT_UP_TO = 4000


def kept_for_short_texts(function: Callable[[str], str]) -> Callable[[str], str]:
    """``function`` (pure) with the answers for the latest ``KEPT_TEXTS`` texts of at most
    ``KEPT_UP_TO`` characters kept; a longer text is worked out each time."""
    kept = lru_cache(maxsize=KEPT_TEXTS)(function)

    @wraps(function)
    def answer(text: str) -> str:
        return kept(text) if len(text) <= KEPT_UP_TO else function(text)

    return answer


@kept_for_short_texts
def sanitise(html: str) -> str:
    """Keep basic formatting and links; drop scripts, event handlers and unsafe URL schemes.

    A pure function of the text, so answers are kept (``kept_for_short_texts``): a page
    sanitises every description it shows again (``rich``), most of them the same as on the
    page before (60 µs each for a paragraph)."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


@kept_for_short_texts
def plain_words(html: str) -> str:
    """The words of ``html``, spaced by one space (a pure function of it, kept: ``strip_tags``
    costs 30 µs a paragraph)."""
    return " ".join(unescape(strip_tags(html)).split())


class RichTextField(models.TextField):
    """A TextField whose value is sanitised before it is written to the database."""

    def pre_save(self, model_instance, add):
        value = sanitise(getattr(model_instance, self.attname) or "")
        setattr(model_instance, self.attname, value)
        return value
