"""Addresses of record pages and API records, without a ``reverse()`` (nor an absolute address
built) for each record a list, a CSV or a feed links to: the address is made once with a
placeholder (``address_template``) and each record's identifier put in (``filled``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

#: Stands in for a slug or an id in ``reverse()``: matches both a slug and a ``[0-9]+`` route.
PLACEHOLDER = "8675309867530986753"
#: What ``reverse()`` puts into an address unchanged, and a slug converter accepts.
_AS_IS = re.compile(r"[-a-zA-Z0-9_]+")


def address_template(make: Callable[[str], str]) -> str | None:
    """The address ``make`` builds for ``PLACEHOLDER``, to fill in per row with ``filled``
    instead of a ``reverse()`` per row; None when it cannot serve as one."""
    try:
        address = make(PLACEHOLDER)
    except (NoReverseMatch, ValueError, TypeError, AttributeError, ObjectDoesNotExist):
        return None
    return address if address.count(PLACEHOLDER) == 1 else None


def filled(template: str | None, value: str) -> str | None:
    """``template`` with ``value`` put in; None when the value needs ``reverse()`` itself."""
    if template is None or not _AS_IS.fullmatch(value):
        return None
    return template.replace(PLACEHOLDER, value)


#: A path ``HttpRequest.build_absolute_uri`` only prefixes with the scheme and host.
_PLAIN_PATH = re.compile(r"/(?!/)[-a-zA-Z0-9_/#]*")


def absolute_address(request, path: str) -> str:
    """``request.build_absolute_uri(path)``, without its parsing for the plain paths
    ``reverse()`` gives (a slug or an id in them): once per row of a CSV, that parsing costs more
    than the rest of the address."""
    host = request._current_scheme_host
    if host and _PLAIN_PATH.fullmatch(path):
        return host + path
    return request.build_absolute_uri(path)


def absolute_template(request, template: str | None) -> str | None:
    """``absolute_address`` of an ``address_template``, to fill in with ``filled``: the same
    addresses, the scheme and host put before the template once rather than before each
    address. None when ``absolute_address`` would do more than put them before it."""
    if template is None or not _PLAIN_PATH.fullmatch(template):
        return None
    host = request._current_scheme_host
    if not host or (host + template).count(PLACEHOLDER) != 1:
        return None
    return host + template


def page_address(url_name: str, key: str, value: str) -> str:
    """``reverse(url_name, kwargs={key: value})``: the address reversed once per URL name (URL
    configuration and script prefix) with a placeholder, the value put in; ``reverse()`` itself
    for a value it would have to quote. A page that links to hundreds of records (the overview:
    about 400 links) saved 13 µs a link."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return filled(_template(url_name, key, get_script_prefix(), urlconf), value) or reverse(
        url_name, kwargs={key: value}
    )


@lru_cache(maxsize=256)
def _template(url_name: str, key: str, prefix: str, urlconf) -> str | None:
    """The address of ``url_name`` for the placeholder (``prefix`` is the script prefix
    ``reverse()`` puts in front, read from the request: part of the key, not used here)."""
    return address_template(lambda value: reverse(url_name, kwargs={key: value}, urlconf=urlconf))
