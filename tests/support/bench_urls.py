"""The site's addresses plus ``make bench``'s baselines, served behind the same settings and
middleware: a view that does nothing, and one that reads a single row (the ceiling of any page
that reads the database)."""

from django.http import HttpResponse
from django.urls import path

from migrationsupport.urls import handler500  # noqa: F401
from migrationsupport.urls import urlpatterns as site_urlpatterns
from regions.models import Region


def hello(request):
    return HttpResponse("Hello, world")


def one_query(request):
    """One indexed query for one short value, no template."""
    name = Region.objects.published().order_by("pk").values_list("name", flat=True).first()
    return HttpResponse(name or "")


urlpatterns = [
    path("bench/hello/", hello, name="bench-hello"),
    path("bench/one-query/", one_query, name="bench-one-query"),
    *site_urlpatterns,
]
