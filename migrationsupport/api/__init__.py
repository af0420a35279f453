"""Shared pieces of the REST API (v1): every app's viewsets and serializers are built from these.

- ``viewsets``: ``PublishableViewSet``, the base of every endpoint (published records for the
  public, drafts for staff with a permission on the model), and the site-wide ``ThemeViewSet``
  and ``SourceViewSet`` (serializers in ``migrationsupport/serializers.py``).
- ``csv``: lists as CSV (``?format=csv`` or ``Accept: text/csv``) and their columns.
- ``conditional``: ``ETag``/``Last-Modified`` on answers, ``If-None-Match`` (304) and
  ``If-Match`` on writes (412 when stale).
- ``errors``: the exception handler and the JSON 404 for unknown API addresses.
- ``schema``: the OpenAPI schema class (drf-spectacular).

Pagination, ordering, permissions and throttling are in ``migrationsupport/api_defaults.py``,
outside this package: DRF imports them while it defines ``APIView``, and importing anything in
this package first runs this file, which imports the viewsets, which need ``APIView`` defined.
``errors``, ``schema`` and ``api_defaults`` are named in ``REST_FRAMEWORK`` (settings.py).
"""

from .csv import csv_columns
from .viewsets import PublishableViewSet

__all__ = ["PublishableViewSet", "csv_columns"]
