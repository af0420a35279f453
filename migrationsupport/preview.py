"""Staff preview of a draft on its public page, exactly as the public will see it once published.

The public views only ever show ``published()`` records. Rather than teach every view a second
way to find a draft, the preview renders the record's own public view inside a transaction in
which the record is marked published, and rolls that transaction back: the page is built by the
same code and templates as the real one, and nothing is ever written (no history entry, no
version, and no other connection can see the uncommitted status). A record shown on another
record's page (``PAGE_OWNER``: an event on its agreement's page) is previewed on that page,
which is marked published too when it is still a draft. The context gets ``preview``
so ``templates/includes/preview_banner.html`` marks the page, and the answer is never cached or
indexed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers

from .models import PublishableModel, Status


def public_path(instance: PublishableModel) -> str | None:
    """The site path of the record's public page (without its #fragment), or None if it has none."""
    if not hasattr(instance, "get_absolute_url"):
        return None
    parts = urlsplit(instance.get_absolute_url())
    if parts.scheme or parts.netloc:
        return None  # e.g. a source's address on another site
    try:
        resolve(parts.path)
    except Resolver404:
        return None
    return parts.path


def render_preview(request, instance: PublishableModel, *, admin_url: str) -> HttpResponse:
    path = public_path(instance)
    if path is None:
        raise Http404("This record has no page of its own on the public site.")
    match = resolve(path)
    owner = instance.page_owner
    shown = [record for record in (instance, owner) if record is not None]
    with transaction.atomic():
        # Rolled back below: the status is never committed.
        for record in shown:
            type(record)._base_manager.filter(pk=record.pk).update(status=Status.PUBLISHED)
        request.resolver_match = match
        response = match.func(request, *match.args, **match.kwargs)
        if hasattr(response, "context_data"):
            response.context_data = {
                **(response.context_data or {}),
                "preview": {
                    "record": instance,
                    "is_draft": not instance.is_published,
                    "draft_owner": owner if owner is not None and not owner.is_published else None,
                    "admin_url": admin_url,
                    "fragment": urlsplit(instance.get_absolute_url()).fragment,
                },
            }
        if hasattr(response, "render"):
            response.render()
        transaction.set_rollback(True)
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
