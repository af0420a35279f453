"""``/robots.txt``: crawlers may read every public page, not the officers' admin nor search
results nor the API's lists nor the Atom feeds of changes (endless combinations of one content,
or made for feed readers; the pages and the sitemap have every record), and find the sitemap
at its absolute address."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

DISALLOWED = ("admin/", "search/", "api/v1/", "changes/feed/")


@require_safe
@cache_control(public=True, max_age=86_400)
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", "Allow: /"]
    lines += [f"Disallow: /{path}" for path in DISALLOWED]
    lines += ["", f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
