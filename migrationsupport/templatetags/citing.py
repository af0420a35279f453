"""A record page's "Last updated" line and its "Cite this" block (``templates/includes/record_meta.html``)."""

from __future__ import annotations

from django import template

from migrationsupport.asof import with_as_of
from migrationsupport.changes import record_changes
from migrationsupport.history import last_published_change

register = template.Library()

#: Who publishes the records, as a citation names them.
PUBLISHER = "Migration Support, European Commission (DG NEAR)"


@register.inclusion_tag("includes/record_meta.html", takes_context=True)
def record_meta(context, record, title: str = ""):
    """``{% record_meta object %}``: when the record last changed in public (drafts never count:
    ``history.last_published_change``), a plain-text citation with its permanent address, and its
    last public changes, old → new (``changes.record_changes``)."""
    request = context.get("request")
    path = record.get_absolute_url()
    permalink = request.build_absolute_uri(path) if request is not None else path
    as_of = getattr(request, "as_of", None)
    if as_of is not None:  # a past version is cited with its date: the address shows it again
        permalink = with_as_of(permalink, as_of.raw)
    return {
        "title": title or str(record),
        "publisher": PUBLISHER,
        "permalink": permalink,
        "updated": last_published_change(record),
        "changes": record_changes(record),
    }
