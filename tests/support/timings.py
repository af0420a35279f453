"""In-process build times of every page kind and API endpoint, page cache off (issue 16, point 2).

``python -m tests.support.timings [--runs 10] [--top 10] [--pairs]`` against the database
DATABASE_URL names (usually one with ``generate_demo_data --funding 100000``): for each address,
the median of ``--runs`` requests through Django's test client, its query count and size, and
the slowest ``--top`` at the end. Addresses: every list page, the largest record of each detail
kind (the region, country, instrument... with the most funding), every API list and one detail
each, the funding totals in every grouping, and the explorer, its CSV's first byte, the API list
and the totals under each filter alone (``--pairs``: and every pair of filters). Each filter
takes the value the most records have, so each combination is the heaviest of its kind.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Iterator
from itertools import combinations
from urllib.parse import quote

import django


def _most_linked(model, relation: str, key: str) -> str | None:
    from django.db.models import Count

    row = (
        model.objects.published()
        .annotate(linked=Count(relation))
        .order_by("-linked", "pk")
        .values_list(key, flat=True)
        .first()
    )
    return str(row) if row is not None else None


def filter_values() -> dict[str, str]:
    """One value per explorer/API funding filter: the one that matches most records."""
    from funding.models import FundingRecord, Instrument, PledgingConference
    from migrationsupport.models import Theme
    from regions.models import Country, Region

    values = {
        "region": _most_linked(Region, "funding_records", "slug"),
        "country": _most_linked(Country, "funding_records", "iso_code"),
        "instrument": _most_linked(Instrument, "funding_records", "slug"),
        "theme": _most_linked(Theme, "funding_records", "slug"),
        "conference": _most_linked(PledgingConference, "pledges", "slug"),
        "parent": _most_linked(FundingRecord, "children", "slug"),
        "donor": "eu",
        "kind": "programme",
        "qualifier": "exact",
        "year": "2024",
        "year_min": "2021",
        "year_max": "2024",
        "amount_min": "1000000",
        "amount_max": "100000000",
        "top_level": "true",
    }
    return {name: value for name, value in values.items() if value}


def addresses(pairs: bool) -> Iterator[str]:
    from agreements.models import Agreement, Document
    from funding.models import FundingRecord, Instrument, PledgingConference
    from migrationsupport import search
    from migrationsupport.models import Theme
    from migrationsupport.registry import registry
    from regions.models import Country, Region, Route

    yield from (
        "/",
        "/regions/",
        "/countries/",
        "/themes/",
        "/instruments/",
        "/funding/",
        "/funding-figures/",
        "/agreements/",
        "/agreements/timeline/",
        "/documents/",
        "/routes/",
        "/conferences/",
        "/donors/",
        "/donors/eu/",
        "/changes/",
        "/changes/feed/",
        "/data/",
        "/search/?q=migration",
        # A word every funding record of the demo data has in its title: each one ranked.
        "/search/?q=funding",
        # Misspelt: few results, so the titles spelled like it are looked for ("did you mean").
        "/search/?q=migraton+routes",
        # Misspelt words that share trigrams with a word of most titles (the demo data's are all
        # "Synthetic funding N"): "Syrai" (two of its six with "Synthetic", 0.33 like "Syria"),
        # "fundng" (most of its trigrams with "funding", no title alike).
        "/search/?q=Syrai",
        "/search/?q=fundng",
        # Only a word left out: nearly every record matches.
        "/search/?q=-migration",
        "/sitemap.xml",
        "/sitemap-funding.xml",
    )
    details = [
        ("/regions/{}/", Region, "funding_records", "slug"),
        ("/countries/{}/", Country, "funding_records", "iso_code"),
        ("/themes/{}/", Theme, "funding_records", "slug"),
        ("/instruments/{}/", Instrument, "funding_records", "slug"),
        ("/conferences/{}/", PledgingConference, "pledges", "slug"),
        ("/funding/{}/", FundingRecord, "children", "slug"),
        # A followed figure with the most reported against it: its follow-through is computed.
        ("/funding/{}/", FundingRecord, "fulfilled_by", "slug"),
        ("/agreements/{}/", Agreement, "events", "slug"),
        ("/documents/{}/", Document, "regions", "slug"),
        ("/routes/{}/", Route, "figures", "slug"),
    ]
    shown = set()
    for pattern, model, relation, key in details:
        value = _most_linked(model, relation, key)
        path = value and pattern.format(value.lower() if key == "iso_code" else value)
        if path and path not in shown:  # the followed figure may be the one with most parts
            shown.add(path)
            yield path
    # Search by a country's name: every record linked to it comes first, ranked (not only the
    # text matches, as for "migration").
    country = _most_linked(Country, "funding_records", "name")
    if country:
        yield f"/search/?q={quote(country)}"
        # The last page of its funding results its pages reach (``search.type_reach()``): each
        # part of the query reads every result before it.
        linked = FundingRecord.objects.published().filter(countries__name=country).count()
        last = search.type_pages(linked)
        if last > 1:
            yield f"/search/?q={quote(country)}&type=funding&page={last}"
    for route in registry.api_routes:
        yield f"/api/v1/{route.prefix}/"
        model = route.viewset.queryset.model
        key = route.viewset.lookup_field
        value = model.objects.published().order_by("pk").values_list(key, flat=True).first()
        if value is not None:
            yield f"/api/v1/{route.prefix}/{value}/"
    # The API's text search (?search=), which matches the title, description and implementer.
    yield "/api/v1/funding/?search=border"
    # A word every demo record holds: its matches counted up to ``SEARCH_COUNT_LIMIT``.
    yield "/api/v1/funding/?search=funding"
    # The change feed (not a registry route): every public change, each as its full representation.
    yield "/api/v1/changes/"
    yield "/api/v1/funding/totals/"
    for group in ("region", "country", "theme", "instrument", "year"):
        yield f"/api/v1/funding/totals/?group_by={group}"
    values = filter_values()
    # The last page, unfiltered and of one filter: SQL would read every row before it (OFFSET).
    last_pages = ["page=last"]
    if "region" in values:
        last_pages.append(f"region={values['region']}&page=last")
    for query in last_pages:
        yield f"/funding/?{query}"
        yield f"/api/v1/funding/?{query}"
    combos: list[tuple[str, ...]] = [(name,) for name in values]
    if pairs:
        combos += list(combinations(values, 2))
    for combo in combos:
        query = "&".join(f"{name}={values[name]}" for name in combo)
        yield f"/funding/?{query}"
        yield f"/api/v1/funding/?{query}"
        yield f"/api/v1/funding/totals/?{query}"


def measure(path: str, runs: int, clock=time.perf_counter) -> tuple[float, int, int, int]:
    """(median ms, queries, bytes, status) of ``runs`` requests, after one to warm up, by
    ``clock`` (``time.process_time``: this process's CPU time, which the database's time and
    other jobs on a shared machine leave out)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")
    response = client.get(path)
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start = clock()
            response = client.get(path)
            body = response.getvalue()
            times.append((clock() - start) * 1000)
    return statistics.median(times), len(queries.captured_queries), len(body), response.status_code


#: ``machine_probe``'s template: a loop of values through filters, as a page's lists are written.
_PROBE_TEMPLATE = (
    "{% for row in rows %}<tr><th>{{ row.name|title }}</th><td>{{ row.amount|floatformat:2 }}</td>"
    "<td>{% if row.flag %}yes{% else %}no{% endif %}</td></tr>{% endfor %}"
)


def machine_probe(runs: int = 5) -> dict[str, float]:
    """Wall-clock milliseconds (median of ``runs``) of two fixed pieces of work in this process: a
    Django template writing 2 000 rows, and plain Python (sorting 200 000 floats). Neither reads
    the database or the project's code, so they change with the machine, which these sessions
    share with others: between sessions hello-world's rate went from 2 200 to 5 600 req/s, and
    within one session this probe from 45 to 88 ms. Runs compare by their ratios, and only
    where their probes are close."""
    from django.template import Context, Engine

    template = Engine().from_string(_PROBE_TEMPLATE)
    rows = [{"name": f"row {i}", "amount": i * 1.5, "flag": i % 2} for i in range(2000)]
    generator = random.Random(0)  # numbers to sort, not secrets
    numbers = [generator.random() for _ in range(200_000)]
    times: dict[str, list[float]] = {"template": [], "python": []}
    for _ in range(runs):
        start = time.perf_counter()
        template.render(Context({"rows": rows}))
        times["template"].append(time.perf_counter() - start)
        start = time.perf_counter()
        sorted(numbers)
        times["python"].append(time.perf_counter() - start)
    probe = {name: statistics.median(values) * 1000 for name, values in times.items()}
    return probe | {"runs": runs}


def probe_line(probe: dict[str, float], when: str = "") -> str:
    """``machine_probe``'s answer as a line of the report (``when``: e.g. "at the start")."""
    label = f"Machine probe{' ' + when if when else ''} (wall clock, median of {probe['runs']:g})"
    return f"{label}: Django template {probe['template']:.1f} ms, Python sort {probe['python']:.1f} ms.\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--pairs", action="store_true")
    parser.add_argument("--match", default="", help="Only addresses containing this text.")
    parser.add_argument(
        "--path", action="append", default=[], help="Only this address (repeatable), listed or not."
    )
    parser.add_argument(
        "--cpu", action="store_true", help="This process's CPU time, not the wall clock (a loaded machine)."
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    os.environ["PAGE_CACHE_SECONDS"] = "0"
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    for rate in ("API_ANON_RATE", "EXPENSIVE_ANON_RATE", "EXPORT_ANON_RATE"):
        os.environ[rate] = "1000000/second"  # every request of the run is one address's
    django.setup()
    results = []
    for path in args.path or addresses(args.pairs):
        if args.match not in path:
            continue
        ms, queries, size, status = measure(
            path, args.runs, time.process_time if args.cpu else time.perf_counter
        )
        results.append((ms, path, queries, size, status))
        print(f"{ms:9.1f} ms {queries:3d} q {size / 1024:8.1f} kB {status} {path}", flush=True)
    clock = "CPU ms" if args.cpu else "ms"
    print(f"\nSlowest {args.top} of {len(results)} (median of {args.runs}, {clock}):")
    print("| address | ms | queries | kB |\n|---|---:|---:|---:|")
    for ms, path, queries, size, _status in sorted(results, reverse=True)[: args.top]:
        print(f"| `{path}` | {ms:.1f} | {queries} | {size / 1024:.1f} |")
    print("\n" + probe_line(machine_probe()), end="")


if __name__ == "__main__":
    main()
