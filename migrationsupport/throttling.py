"""Per-address throttles on the public pages that cost the most to build (the funding explorer,
its CSV, search), with the API's own throttle classes (``api_defaults``).

A page and the API therefore share the rates (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, from
``EXPENSIVE_ANON_RATE`` and ``EXPORT_ANON_RATE``), the counters (in the cache, per scope and
address: the explorer and the API's totals draw on one budget) and the client address (DRF's
``NUM_PROXIES`` rule, which ``security.client_ip`` follows too). Officers who are logged in are
never throttled, as in the API. Cached pages are served before the view runs and cost nothing,
so only the answers actually built are counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpResponse
from rest_framework.throttling import SimpleRateThrottle


def too_many_requests(wait: float | None) -> HttpResponse:
    """429 with ``Retry-After`` in whole seconds, as the API's throttled answers have it."""
    seconds = max(1, math.ceil(wait or 1))
    response = HttpResponse(
        f"Too many requests from your address. Try again in {seconds} seconds.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    return response


def throttle(throttle_class: type[SimpleRateThrottle]) -> Callable:
    """A view decorator (``method_decorator(throttle(...), name="dispatch")`` on a class): past
    the rate of ``throttle_class``, the view is not run and the client gets a 429."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def throttled_view(request, *args, **kwargs):
            limiter = throttle_class()
            if not limiter.allow_request(request, None):
                return too_many_requests(limiter.wait())
            return view(request, *args, **kwargs)

        return throttled_view

    return decorator
