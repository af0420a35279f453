"""Signed webhooks (issue 18): staff subscribe a URL to the publication events of record types,
and each event is POSTed to it signed per Standard Webhooks.

- ``models``: ``Subscription`` (target, events, record types, filters, secret, paused or not) and
  ``Delivery`` (one event for one subscription: payload, status, attempts, last error).
- ``events``: the event each row of the public change log makes (``migrationsupport.changes``
  decides what the public could see), and ``dispatch`` (deliveries for an event).
- ``records``: record types and payloads through the API's registry and viewsets, as the public
  sees them.
- ``delivery``: sign, send, retry (RQ through ``migrationsupport.tasks``), pause and tell the owner.
- ``targets``: the SSRF rule (no loopback, private or link-local targets).

The admin is ``migrationsupport.admin.webhooks``; consumers' documentation is docs/api.md.
"""
