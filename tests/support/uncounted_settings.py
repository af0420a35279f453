"""The site's settings with the API's anonymous rate off: the baseline of
``tests.support.cache_bench.counted_served_hit`` (a cached answer served without counting, as
before issue 16's point 8). Only that measurement uses it."""

import copy

from migrationsupport.settings import *  # noqa: F403

REST_FRAMEWORK = copy.deepcopy(REST_FRAMEWORK)  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"] = None  # type: ignore[index]
