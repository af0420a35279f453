"""`make bench`'s baselines and table (the benchmark itself runs outside the suite)."""

from __future__ import annotations

import io
import subprocess
from contextlib import nullcontext

import pytest
from django.test import RequestFactory

from tests.factories import RegionFactory
from tests.support.bench import PAGES, Result, render
from tests.support.bench_urls import one_query
from tests.support.timings import machine_probe, probe_line

pytestmark = pytest.mark.django_db


def test_one_query_view_reads_one_row_in_one_query(django_assert_num_queries):
    RegionFactory(name="Western Balkans")
    RegionFactory(name="Sahel")
    with django_assert_num_queries(1):
        response = one_query(RequestFactory().get("/bench/one-query/"))
    assert response.content == b"Western Balkans"


def test_table_compares_each_page_with_both_baselines_of_the_same_run():
    hello, one_query, overview = (label for label, _ in PAGES[:3])
    results = [
        Result("seed", "off", hello, 3000, 2, 4, 0, 80, 0),
        Result("seed", "off", one_query, 1200, 5, 9, 1, 82, 0),
        Result("seed", "off", overview, 30, 250, 300, 34, 95, 0),
        Result("seed", "warm", hello, 2000, 2, 4, 0, 80, 0),
        Result("seed", "warm", overview, 1500, 3, 5, 0, 90, 0),
    ]
    ratios = {}
    for line in render(results).splitlines()[2:]:
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        ratios[tuple(cells[:3])] = (cells[8], cells[9])
    assert ratios[("seed", "off", one_query)] == ("0.400", "1.000")
    assert ratios[("seed", "off", overview)] == ("0.010", "0.025")
    # No one-query view in the warm run: no ratio rather than a made-up one.
    assert ratios[("seed", "warm", overview)] == ("0.750", "")


def test_each_page_is_compared_with_the_baselines_measured_around_it():
    """The machine slows during a run: a page measured halfway between a hello-world view at
    3 000 req/s and one at 1 000 is compared with 2 000; before the first or after the last
    measurement, with the nearest."""
    hello, one_query, overview, region = (label for label, _ in PAGES[:4])
    results = [
        Result("seed", "off", hello, 3000, 2, 4, 0, 80, 0, 0),
        Result("seed", "off", one_query, 1000, 5, 9, 1, 82, 0, 1),
        Result("seed", "off", overview, 100, 250, 300, 34, 95, 0, 2),
        Result("seed", "off", hello, 1000, 2, 4, 0, 80, 0, 3),
        Result("seed", "off", one_query, 500, 5, 9, 1, 82, 0, 4),
        Result("seed", "off", region, 50, 250, 300, 20, 95, 0, 5),
        # Another run's baselines never count for this one.
        Result("+100 000", "off", hello, 10, 2, 4, 0, 80, 0, 3),
    ]
    ratios = {}
    for line in render(results).splitlines()[2:]:
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        ratios[(cells[2], cells[3])] = (cells[8], cells[9])
    # Overview: hello 3 000 at 0 and 1 000 at 3 gives 1 667 at 2; one-query 1 000 at 1, 500 at 4: 833.
    assert ratios[(overview, "100")] == ("0.060", "0.120")
    # The one-query view against hello-world between its measurements (2 333 at 1).
    assert ratios[(one_query, "1000")] == ("0.429", "1.000")
    # After the last measurements: the last ones.
    assert ratios[(region, "50")] == ("0.050", "0.100")
    assert ratios[(hello, "1000")] == ("1.000", "1.500")  # one-query 667 at 3
    assert ratios[(hello, "10")] == ("1.000", "")  # +100 000 has no one-query view: no ratio


def test_a_run_measures_its_baselines_again_every_few_pages_and_at_its_end(monkeypatch):
    from tests.support import bench

    monkeypatch.setattr(bench, "BASELINE_EVERY", 2)
    command = bench.Command()
    command.pages = [*PAGES[:2], ("a", "/a/"), ("b", "/b/"), ("c", "/c/")]
    measured = []

    class Server:
        url, pid = "http://x", 0

    monkeypatch.setattr(bench, "start_gunicorn", lambda **kwargs: nullcontext(Server()))
    monkeypatch.setattr(bench.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b""))
    monkeypatch.setattr(bench, "_worker_peak_mb", lambda pid: 1.0)

    def wrk(args, **kwargs):
        measured.append(args[-1].removeprefix("http://x"))
        rps = 10 * len(measured)
        out = f"Requests/sec: {rps}\n     50%   1.00ms\n     99%   2.00ms\n"
        return subprocess.CompletedProcess(args, 0, out, "")

    monkeypatch.setattr(bench.subprocess, "run", wrk)
    command.wrk, command.bench_url = "wrk", "postgres://x"
    results = command._run(
        "seed", "off", dict.fromkeys(["/bench/hello/", "/bench/one-query/", "/a/", "/b/", "/c/"], 0), 1, 1, 2
    )

    base = ["/bench/hello/", "/bench/one-query/"]
    assert measured == [*base, "/a/", "/b/", *base, "/c/", *base]
    assert [r.order for r in results] == list(range(len(measured)))


def test_every_kind_is_one_address_per_page_kind_and_api_list():
    from funding.models import FundingRecord
    from tests.factories import FundingRecordFactory
    from tests.support.bench import every_kind

    region = RegionFactory(slug="sahel")
    FundingRecordFactory(slug="sahel-programme").regions.add(region)
    assert FundingRecord.objects.published().count() == 1
    paths = [path for _, path in every_kind()]
    assert paths[:2] == ["/bench/hello/", "/bench/one-query/"]
    assert {"/", "/regions/sahel/", "/funding/sahel-programme/", "/api/v1/funding/"} <= set(paths)
    assert "/api/v1/funding/totals/?region=sahel" in paths
    assert "/api/v1/funding/?search=funding" in paths  # the API's text search
    assert {"/funding/?page=last", "/api/v1/funding/?page=last"} <= set(paths)
    assert not [path for path in paths if path.startswith("/api/v1/regions/") and path != "/api/v1/regions/"]
    assert len(paths) == len(set(paths))


def test_machine_probe_times_both_pieces_of_work():
    probe = machine_probe(runs=1)
    assert set(probe) == {"template", "python", "runs"} and probe["runs"] == 1
    assert probe["template"] > 0 and probe["python"] > 0
    line = probe_line({"template": 12.34, "python": 5.0, "runs": 5}, "at the start")
    assert line.startswith("Machine probe at the start (wall clock, median of 5): ")
    assert "Django template 12.3 ms" in line and "Python sort 5.0 ms" in line
