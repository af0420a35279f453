"""The site's own settings plus the two baseline views of ``make bench`` (tests/support/bench_urls.py).

Only the benchmark's app processes use this module (``DJANGO_SETTINGS_MODULE``): the baselines are
not routable under the production settings at all.
"""

from migrationsupport.settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.bench_urls"
PAGE_CACHE_EXCLUDE = (*PAGE_CACHE_EXCLUDE, "/bench/")  # noqa: F405
